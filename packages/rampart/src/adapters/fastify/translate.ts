import type { Readable } from 'node:stream'
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify'
import { runWithContext } from '../../context/context.js'
import { contextFor } from '../../context/feature.js'
import type { Rampart } from '../../core/rampart.js'
import type { CsrfFeature } from '../../csrf/feature.js'
import { errorAnswer, failedAfterHeaders } from '../../errors/answer.js'
import { HttpError } from '../../errors/http-error.js'
import { isInternalRequest } from '../../pipeline/exchange.js'
import type { RouteHooks, RouteSpec, ServedRoute, Verdict } from '../../pipeline/feature.js'
import type { Pipeline } from '../../pipeline/pipeline.js'
import { INTERNAL_ROUTE_CONFIG, type RouteConfig } from '../../pipeline/route-config.js'
import { FastifyExchange } from './exchange.js'

type Done = (error?: Error) => void

/** Hands a verdict (sync or async) to a Fastify hook's `done`. */
function settle(verdict: Verdict | Promise<Verdict>, done: Done): void {
  if (verdict instanceof Promise) verdict.then((refused) => done(refused), done)
  else done(verdict)
}

const HOOK_NAMES = [
  'onRequest',
  'preParsing',
  'preValidation',
  'preHandler',
  'onSend',
  'onResponse',
] as const
type HookName = (typeof HOOK_NAMES)[number]

/**
 * Maps the ordered features of `pipeline` onto Fastify: one app `onRequest` hook (the exchange,
 * the context, every `start`, then the guards), the raw response's `finish` and `close`
 * listeners (`end` / `abort`), one `onError` when some feature watches failures, per-route hooks from
 * `forRoute` (only on the routes that want them), the served endpoints and `ready`. Every
 * per-request decision is the features'; this file only translates.
 */
export function mountPipeline(
  app: FastifyInstance,
  core: Rampart,
  pipeline: Pipeline,
  csrf?: CsrfFeature,
): void {
  const { logger } = core
  app.decorateRequest('rampart', null as never)
  // Public (docs/security.md): the context of this request, read through its exchange.
  app.decorateRequest('rampartContext', {
    getter(this: FastifyRequest) {
      return this.rampart?.context
    },
  } as never)

  if (csrf !== undefined)
    app.decorateRequest('csrfToken', function csrfToken(this: FastifyRequest, sessionId?: string) {
      return csrf.csrfToken(this.rampart, sessionId)
    })

  /**
   * The exchange of a request, made once by Rampart's first hook (or by the error handler, when
   * an earlier hook failed), and its end watched from the response's own events rather than an
   * app `onResponse` hook, which makes Fastify time every reply and add and remove two
   * listeners of its own: `finish` is the answer sent (`end`), a `close` before it the client
   * gone or the response cut off (`closed`, a no-op after `end`). The gain is in
   * docs/benchmarks.md (issue 24, "the answer's end from the response's own events").
   */
  const exchangeOf = (request: FastifyRequest, reply: FastifyReply): FastifyExchange => {
    const ex = newExchange(request, reply)
    const res = reply.raw
    res.on('finish', () => {
      if (!ex.finished) pipeline.end(ex, res.statusCode, ex.elapsedSeconds())
    })
    res.on('close', () => pipeline.closed(ex, ex.elapsedSeconds()))
    return ex
  }

  // Before the served routes are added, so they get it too: every error answer is errorAnswer's.
  const answerError = (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (request.rampart == null) {
      // A hook that ran before Rampart's refused the request: it still gets its id, headers,
      // in-flight count and span, like every answer.
      request.rampart = exchangeOf(request, reply)
      pipeline.start(request.rampart)
    }
    const out = errorAnswer(core, request.rampart, error)
    // Too late for an error answer: cut the response off (errorAnswer recorded the failure).
    if (out === undefined) {
      reply.raw.destroy()
      return reply
    }
    // The error handler leaves no stale type or length; a partial header set is replaced whole.
    return reply.code(out.status).headers(out.headers).type(out.contentType).send(out.body)
  }
  app.setErrorHandler(answerError)
  app.setNotFoundHandler((request, reply) => answerError(new HttpError(404), request, reply))

  const guarded = (ex: FastifyExchange, done: HookHandlerDoneFunction) => () => {
    const refused = pipeline.guard(ex)
    if (refused === undefined) done()
    else done(refused)
  }
  app.addHook('onRequest', (request, reply, done) => {
    const ex = exchangeOf(request, reply)
    request.rampart = ex
    request.log = logger
    pipeline.start(ex)
    runWithContext(ex.context, pipeline.hasGuards ? guarded(ex, done) : done)
  })
  // One app-wide onSend: every answer's last step (the document headers), and a body stream
  // that fails once its headers are out is the server's failure, not a hang-up.
  app.addHook('onSend', (request, reply, payload, done) => {
    const ex = request.rampart
    if (isStream(payload))
      payload.once('error', (err) => {
        if (reply.raw.headersSent) failedAfterHeaders(core, ex, err)
      })
    pipeline.beforeSend(ex)
    done(null, payload)
  })
  if (pipeline.hasFailed)
    app.addHook('onError', (request, _reply, error, done) => {
      pipeline.failed(request.rampart, error, (error as { statusCode?: number }).statusCode ?? 500)
      done()
    })

  // Hooks Rampart added: a route whose options already carry one (a HEAD twin copied from its
  // GET route after Rampart's hooks were added) gets none twice.
  const ours = new Set<unknown>()
  const hooksOf = (route: RouteOptions, name: HookName): unknown[] =>
    route[name] === undefined ? [] : [route[name]].flat()
  const add = (route: RouteOptions, name: HookName, hook: unknown, first: boolean) => {
    ours.add(hook)
    const own = hooksOf(route, name)
    ;(route as Record<HookName, unknown>)[name] = first ? [hook, ...own] : [...own, hook]
  }
  const attach = (route: RouteOptions, h: RouteHooks) => {
    const { beforeBody, body, beforeValidation, beforeHandler, beforeSend, after } = h
    // After the app's own onRequest hooks (authentication), before the body is read.
    if (beforeBody)
      add(
        route,
        'onRequest',
        (rq: FastifyRequest, _r: unknown, done: Done) => settle(beforeBody(rq.rampart), done),
        false,
      )
    if (body)
      add(
        route,
        'preParsing',
        (
          rq: FastifyRequest,
          _r: unknown,
          payload: Readable,
          done: (e: null, p: Readable) => void,
        ) => done(null, body(rq.rampart, payload)),
        true,
      )
    if (beforeValidation)
      add(
        route,
        'preValidation',
        (rq: FastifyRequest, _r: unknown, done: Done) =>
          settle(beforeValidation(rq.rampart, rq.body), done),
        true,
      )
    if (beforeHandler)
      add(
        route,
        'preHandler',
        (rq: FastifyRequest, _r: unknown, done: Done) =>
          settle(beforeHandler(rq.rampart, rq.body), done),
        false,
      )
    // Last: after every app-wide onSend (a cookie plugin's `Set-Cookie` included).
    if (beforeSend)
      add(
        route,
        'onSend',
        (
          rq: FastifyRequest,
          _r: unknown,
          payload: unknown,
          done: (e: null, p: unknown) => void,
        ) => {
          beforeSend(rq.rampart)
          done(null, payload)
        },
        false,
      )
    if (after)
      add(
        route,
        'onResponse',
        (rq: FastifyRequest, reply: FastifyReply, done: Done) => {
          done()
          after(rq.rampart, reply.statusCode)
        },
        false,
      )
  }
  app.addHook('onRoute', (route) => {
    // The `helmet` route option travels in the route's config, like every Rampart option.
    const helmet = (route as { helmet?: RouteConfig['helmet'] }).helmet
    if (helmet !== undefined) route.config = { ...(route.config as object), helmet } as never
    // A plugin cannot change the server-wide bodyLimit: each route gets MAX_BODY_KB unless it sets its own.
    route.bodyLimit ??= core.limits.bodyBytes
    const spec: RouteSpec = {
      methods: [route.method].flat().map(String),
      url: route.url,
      config: (route.config ?? {}) as RouteConfig,
      bodyLimit: route.bodyLimit,
    }
    const twin = HOOK_NAMES.some((name) => hooksOf(route, name).some((h) => ours.has(h)))
    for (const h of pipeline.route(spec)) if (!twin) attach(route, h)
  })

  for (const served of pipeline.served) serve(app, served)
  app.addHook('onReady', () => pipeline.ready())
}

/** A request's exchange, with what routing decided. */
function newExchange(request: FastifyRequest, reply: FastifyReply): FastifyExchange {
  const options = request.routeOptions
  const ex = new FastifyExchange(request, reply, contextFor(request.headers, request.ip))
  if (!request.is404 && options.url !== undefined) {
    ex.route = options.url
    ex.matched = true
  }
  if (options.config !== undefined) ex.config = options.config as RouteConfig
  ex.internal = isInternalRequest(ex.matched, ex.route, request.url)
  return ex
}

function isStream(payload: unknown): payload is NodeJS.ReadableStream {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as { pipe?: unknown }).pipe === 'function' &&
    typeof (payload as { once?: unknown }).once === 'function'
  )
}

/** An endpoint a feature serves, as a Fastify route (`*` suffix: everything under the prefix). */
function serve(app: FastifyInstance, served: ServedRoute): void {
  app.route({
    method: served.method,
    url: served.path,
    config: INTERNAL_ROUTE_CONFIG,
    async handler(request, reply) {
      const answer = await served.handle(request.rampart, request.body)
      if (answer === undefined) return reply.callNotFound()
      if (answer.status !== undefined) reply.code(answer.status)
      if (answer.headers !== undefined) reply.headers(answer.headers)
      return reply.send(answer.body)
    },
  })
}
