import { type Context, createContextKey, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  currentFrame,
  enterFrame,
  type FrameReader,
  isRequestContext,
  type RequestContext,
  runInFrame,
} from '../context/context.js'
import { RequestSpan } from './request-span.js'

/** Where a request's context rides inside the OpenTelemetry contexts derived from it. */
export const REQUEST_CONTEXT = createContextKey('rampart.request')

/**
 * The OpenTelemetry context of a request: the caller's context with the request's server span
 * active and the request context under `REQUEST_CONTEXT` (a request Rampart does not trace gets
 * the root context plus the request context). Built on first use and kept on the request.
 */
export function otelContextOf(ctx: RequestContext): Context {
  const carried = ctx.carried
  if (carried instanceof RequestSpan) {
    carried.active ??= trace.setSpan(carried.parentContext, carried).setValue(REQUEST_CONTEXT, ctx)
    return carried.active
  }
  if (carried !== undefined) return carried as Context
  const context = ROOT_CONTEXT.setValue(REQUEST_CONTEXT, ctx)
  ctx.carried = context
  return context
}

/**
 * OpenTelemetry's context manager on Rampart's own async storage, so a traced request enters
 * one storage, once (on Node 20 every promise and callback pays an async-hooks call per storage
 * in use). A request enters its Rampart context; `context.active()` turns it into the request's
 * OpenTelemetry context only when something asks (a manual span, an instrumented client call),
 * and `context.with()` enters OpenTelemetry contexts into the same storage, where
 * `currentContext()` still finds the request through `REQUEST_CONTEXT`.
 *
 * `bind` (functions and event emitters) is inherited; it goes through `with`.
 */
export class RequestContextManager extends AsyncLocalStorageContextManager {
  override active(): Context {
    const frame = currentFrame()
    if (frame === undefined) return ROOT_CONTEXT
    return isRequestContext(frame) ? otelContextOf(frame) : (frame as Context)
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return runInFrame(context, () => fn.apply(thisArg, args))
  }

  override attach(context: Context): ReturnType<AsyncLocalStorageContextManager['attach']> {
    const previous = currentFrame()
    enterFrame(context)
    let disposed = false
    return {
      dispose() {
        if (disposed) return
        disposed = true
        enterFrame(previous)
      },
    }
  }

  override enable(): this {
    return this
  }

  // The storage is Rampart's and outlives tracing; there is nothing to switch off.
  override disable(): this {
    return this
  }
}

/** Tells Rampart's context module which request an OpenTelemetry context belongs to. */
export const otelFrames: FrameReader = {
  requestOf: (frame) => (frame as Context).getValue(REQUEST_CONTEXT) as RequestContext | undefined,
  spanIdsOf(frame) {
    const span = trace.getSpan(frame as Context)
    if (span === undefined) return undefined
    const { traceId, spanId } = span.spanContext()
    return { traceId, spanId }
  },
}
