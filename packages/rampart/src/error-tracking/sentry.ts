/**
 * The Sentry client behind `ErrorReporter`. This module is the only one that imports
 * `@sentry/node`, and it is itself imported (by `start.ts`) only when `SENTRY_DSN` is set.
 *
 * One trace, not two (ADR 0014): no `Sentry.init`, so no global hub, no async-context
 * strategy, no OpenTelemetry tracer provider, no auto-instrumentation and no global
 * `uncaughtException` handler from the SDK. A private `NodeClient` builds, scrubs and sends
 * events; each report gets a private `Scope` whose trace context is Rampart's own ids.
 */
import http from 'node:http'
import https from 'node:https'
import {
  defaultStackParser,
  type ErrorEvent,
  linkedErrorsIntegration,
  makeNodeTransport,
  NodeClient,
  type NodeOptions,
  Scope,
} from '@sentry/node'
import type { Redactor } from '../logging/redact.js'
import type { ErrorContext, ErrorReporter } from './reporter.js'
import { scrubEvent } from './scrub.js'

/** Why a report did not reach Sentry: the SDK's outcome names, plus Rampart's own `capture_failed`. */
export const DROP_REASONS = [
  'queue_overflow',
  'network_error',
  'send_error',
  'ratelimit_backoff',
  'client_rate_limit',
  'capture_failed',
] as const
export type DropReason = (typeof DROP_REASONS)[number]

export interface SentrySettings {
  dsn: string
  environment: string
  release: string | undefined
  sampleRate: number
  service: string
  /** The `version` tag: the release, else the package version npm ran, else none. */
  version: string | undefined
  redactor: Redactor
  /** Reports sent or sending at once; past it a report is dropped and counted. Default 30. */
  queueSize?: number
  /**
   * Reports built per second at most (a burst of five seconds' worth allowed): during an error
   * storm the rest are dropped before any work (counted `client_rate_limit`), so a failing
   * request costs no more than a successful one. Default 10.
   */
  reportsPerSecond?: number
  /** A send that has no answer after this long is abandoned (counted `network_error`). Default 5000. */
  sendTimeoutMs?: number
  /** Called on every loss, for a rate-limited log line. */
  onDrop?: (reason: DropReason) => void
  /** Trace and span id of the current request or span, for reports given none. */
  currentIds?: () => { traceId?: string | undefined; spanId?: string | undefined } | undefined
}

/** The Sentry reporter: an `ErrorReporter` that counts what it dropped and can be closed. */
export interface SentryReporter extends ErrorReporter {
  /** Reports captured so far (sent, sending, or dropped later). */
  readonly captured: number
  /** Reports dropped so far, by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>
  /** Flushes (giving up after `timeoutMs`) and stops the client. Resolves `false` when it gave up. */
  close(timeoutMs: number): Promise<boolean>
}

/**
 * Node's http/https with a deadline on every send: the SDK's transport waits for an answer as
 * long as the socket stays open, so a hung endpoint would hold a queue slot forever.
 */
function timedHttpModule(timeoutMs: number) {
  return {
    request(
      options: string | URL | http.RequestOptions,
      callback?: (res: http.IncomingMessage) => void,
    ) {
      const secure =
        typeof options === 'string' ? options.startsWith('https:') : options.protocol === 'https:'
      const req = (secure ? https : http).request(options, callback)
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
      return req
    },
  }
}

/**
 * `work`'s outcome, or `false` once `ms` passed: the SDK's own flush may take up to twice its
 * timeout (client, then transport) and counts its wait in 1 ms timer ticks, which run late on
 * a loaded machine.
 */
function withDeadline(work: PromiseLike<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
    timer.unref()
  })
  const done = Promise.resolve(work).then(
    (ok) => ok,
    () => false,
  )
  return Promise.race([done, late]).finally(() => clearTimeout(timer))
}

/** An error's enumerable fields besides message and stack, or undefined when it has none. */
function ownFields(error: unknown): Record<string, unknown> | undefined {
  if (!(error instanceof Error)) return undefined
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(error)) if (k !== 'message' && k !== 'stack') out[k] = v
  return Object.keys(out).length === 0 ? undefined : out
}

/** `take()` is true while the bucket has a token; it refills `perSecond` a second, up to five seconds' worth. */
function tokenBucket(perSecond: number): () => boolean {
  const capacity = perSecond * 5
  let tokens = capacity
  let last = Date.now()
  return () => {
    const now = Date.now()
    tokens = Math.min(capacity, tokens + ((now - last) / 1000) * perSecond)
    last = now
    if (tokens < 1) return false
    tokens -= 1
    return true
  }
}

const isDropReason = (reason: string): reason is DropReason =>
  (DROP_REASONS as readonly string[]).includes(reason)

/** Builds the client. Sends nothing until a report is captured. */
export function createSentryReporter(settings: SentrySettings): SentryReporter {
  const { redactor, service, version } = settings
  const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>

  // The SDK records every loss (full queue, failed or refused send) as an outcome; a subclass
  // sees each one, including those the transport reports through its bound callback.
  class CountingClient extends NodeClient {
    override recordDroppedEvent(...args: Parameters<NodeClient['recordDroppedEvent']>): void {
      const [reason, , count = 1] = args
      if (isDropReason(reason)) {
        dropped[reason] += count
        settings.onDrop?.(reason)
      }
      super.recordDroppedEvent(...args)
    }
  }

  const scrub = <T extends object>(event: T): T => scrubEvent(event, redactor)
  const transportOptions: NodeOptions['transportOptions'] = {
    bufferSize: settings.queueSize ?? 30,
    httpModule: timedHttpModule(settings.sendTimeoutMs ?? 5000),
  }
  const client = new CountingClient({
    dsn: settings.dsn,
    environment: settings.environment,
    ...(settings.release === undefined ? {} : { release: settings.release }),
    sampleRate: settings.sampleRate,
    // Integrations are added one by one below; none patches a module or listens on `process`.
    integrations: [],
    transport: makeNodeTransport,
    transportOptions,
    stackParser: defaultStackParser,
    beforeSend: (event: ErrorEvent) => scrub(event),
    beforeSendTransaction: (event) => scrub(event),
    maxBreadcrumbs: 0,
    sendClientReports: false,
    // Collect nothing on the SDK's side: what a report carries is what Rampart gives it.
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
      graphQL: { document: false, variables: false },
      genAI: { inputs: false, outputs: false },
      mcp: { inputs: false, outputs: false },
      databaseQueryData: false,
      queues: false,
      stackFrameVariables: false,
      frameContextLines: 0,
    },
    // No runtime module patching (Rampart's tracing owns instrumentation).
    enableRuntimeChannelInjection: false,
    enableOpenTelemetrySetup: false,
  })
  // Without `client.init()`: it would install Sentry's own async-context strategy.
  client.addIntegration(linkedErrorsIntegration())

  const baseTags: Record<string, string> = { service }
  if (version !== undefined) baseTags.version = version

  let captured = 0
  const take = tokenBucket(settings.reportsPerSecond ?? 10)
  return {
    enabled: true,
    dropped,
    get captured() {
      return captured
    },
    capture(error: unknown, context: ErrorContext = {}) {
      captured += 1
      if (!take()) {
        dropped.client_rate_limit += 1
        settings.onDrop?.('client_rate_limit')
        return
      }
      try {
        const scope = new Scope()
        scope.setClient(client)
        scope.setTags({ ...baseTags, ...context.tags })
        if (context.user !== undefined) scope.setUser({ id: context.user })
        if (context.extra !== undefined) scope.setExtras(redactor.redact(context.extra))
        // The error's own fields (`code`, `details`…), as the logs show them: redacted.
        const fields = ownFields(error)
        if (fields !== undefined) scope.setExtra('error', redactor.redact(fields))
        const ids =
          context.traceId === undefined
            ? settings.currentIds?.()
            : { traceId: context.traceId, spanId: context.spanId }
        if (ids?.traceId !== undefined) {
          scope.setPropagationContext({
            traceId: ids.traceId,
            sampleRand: Math.random(),
            ...(ids.spanId === undefined ? {} : { propagationSpanId: ids.spanId }),
          })
        }
        const route = context.tags?.route
        const method = context.tags?.method
        if (route !== undefined && method !== undefined)
          scope.setTransactionName(`${method} ${route}`)
        client.captureException(error, { mechanism: { type: 'rampart', handled: false } }, scope)
      } catch {
        dropped.capture_failed += 1
        settings.onDrop?.('capture_failed')
      }
    },
    flush: (timeoutMs: number) => withDeadline(client.flush(timeoutMs), timeoutMs),
    close: (timeoutMs: number) => withDeadline(client.close(timeoutMs), timeoutMs),
  }
}
