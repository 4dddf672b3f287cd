import type { Readable } from 'node:stream'
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express'
import { runWithContext } from '../../context/context.js'
import { contextFor } from '../../context/feature.js'
import { buildFeatures, type CoreFeatures } from '../../core/features.js'
import type { Rampart } from '../../core/rampart.js'
import type { CsrfFeature } from '../../csrf/feature.js'
import { errorAnswer } from '../../errors/answer.js'
import { HttpError } from '../../errors/http-error.js'
import { isInternalRequest } from '../../pipeline/exchange.js'
import type { RouteSpec, ServedAnswer, ServedRoute, Verdict } from '../../pipeline/feature.js'
import type { Pipeline } from '../../pipeline/pipeline.js'
import { createRawAnswers, type RawAnswers } from '../../pipeline/raw-answers.js'
import { INTERNAL_ROUTE_CONFIG, type RouteConfig } from '../../pipeline/route-config.js'
import { isJsonMediaType, mediaType } from '../../security/media-type.js'
import type { SloConfig } from '../../slo/options.js'
import { type CompiledHooks, ExpressExchange } from './exchange.js'

type Held = Request & { rampart?: ExpressExchange }
type Hook<K extends keyof CompiledHooks> = CompiledHooks[K][number]

/** A route config middleware made by `rp.route()`; the app's `route` wrapper reads its tag. */
/**
 * What `rp.route()` returns: a middleware tagged with its route's config. Generic in the
 * request's parameters, so that among a route's handlers it takes the route's own
 * (`req.params.id` stays a `string` in the handler after it).
 */
export interface RouteMiddleware {
  <P = Record<string, string>>(req: Request<P>, res: Response, next: NextFunction): void
  readonly rampartRoute: RouteConfig
}

/** One app-level route Rampart saw registered (through `app.route`). */
interface SeenRoute {
  readonly spec: RouteSpec
  readonly hooks: CompiledHooks
  /** The router's layer of the route, for matching a request before Express routes it. */
  readonly layer: { match(path: string): unknown }
}

const NO_HOOKS: CompiledHooks = Object.freeze({
  beforeBody: [],
  body: [],
  beforeValidation: [],
  beforeHandler: [],
  beforeSend: [],
  after: [],
})

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head', 'all'] as const

/** Methods whose body Rampart never reads. */
const BODYLESS = new Set(['GET', 'HEAD'])

/**
 * Translates the features onto Express: one app-wide middleware (exchange, context, `start`,
 * the guards, the features' own routes), a hook placed among each route's handlers when the
 * route is registered (the route hooks and body parsing), the response-side hooks (`writeHead`
 * on the app's response prototype, one `close` listener per response), the not-found and error
 * middleware. Every decision is the features'.
 */
export class ExpressPipeline {
  readonly #core: Rampart
  readonly #pipeline: Pipeline
  readonly #csrf: CsrfFeature | undefined
  readonly #seen: SeenRoute[] = []
  #app: Express | undefined
  /** Route handlers still running, once graceful shutdown is armed (the drain waits for them). */
  handlers: { enter(): void; exit(): void; settled<T>(result: T): T } | undefined
  /** Answers written outside Express (parser errors, requests arriving while closing). */
  readonly rawAnswers: RawAnswers

  private constructor(core: Rampart, features: CoreFeatures) {
    this.#core = core
    this.#pipeline = features.pipeline
    this.#csrf = features.csrf
    this.rawAnswers = createRawAnswers(core, features.red)
    core.rawAnswers = this.rawAnswers
  }

  static async create(
    core: Rampart,
    options: { slo?: SloConfig | undefined },
  ): Promise<ExpressPipeline> {
    return new ExpressPipeline(core, await buildFeatures(core, options))
  }

  /** Every feature's `ready` (audit database, SLO routes), over the routes seen so far. */
  ready(): Promise<void> {
    return this.#pipeline.ready()
  }

  /** Records a registered route; its hooks, one array per point (empty ones cost nothing). */
  #compile(spec: RouteSpec): CompiledHooks {
    const hooks = {
      beforeBody: [] as Array<Hook<'beforeBody'>>,
      body: [] as Array<Hook<'body'>>,
      beforeValidation: [] as Array<Hook<'beforeValidation'>>,
      beforeHandler: [] as Array<Hook<'beforeHandler'>>,
      beforeSend: [] as Array<Hook<'beforeSend'>>,
      after: [] as Array<Hook<'after'>>,
    }
    for (const own of this.#pipeline.route(spec))
      for (const k of Object.keys(hooks) as Array<keyof typeof hooks>) {
        const fn = own[k]
        if (fn !== undefined) (hooks[k] as unknown[]).push(fn.bind(own))
      }
    return hooks
  }

  /**
   * Installs the middleware and the response hooks on `app`, and wraps `app.route` (which
   * `app.get`, `app.post`… call) so every app-level route is seen as it is registered.
   */
  install(app: Express): void {
    this.#app = app
    app.disable('x-powered-by')
    const pipeline = this
    // Just before the headers go out (Node calls `writeHead` for implicit headers too): one
    // method on the app's response prototype, which Express gives every response, instead of a
    // wrapper per response. Defined on that object itself: an extra prototype level would make
    // every property read on a response walk one more object (with one, the profile showed
    // property lookups 22k instructions per request above bare Express).
    const response = app.response as Response
    const writeHead = response.writeHead as (
      this: Response,
      a: unknown,
      b: unknown,
      c: unknown,
    ) => Response
    Object.defineProperty(response, 'writeHead', {
      configurable: true,
      writable: true,
      value: function rampartWriteHead(
        this: Response,
        status: unknown,
        reason: unknown,
        headers: unknown,
      ) {
        const ex = (this.req as Held | undefined)?.rampart
        if (ex !== undefined && !ex.sent) pipeline.#beforeSend(ex)
        return writeHead.call(this, status, reason, headers)
      },
    })
    const csrf = this.#csrf
    app.request.csrfToken = function csrfToken(this: Held, sessionId?: string): string {
      if (csrf === undefined) throw new Error('the CSRF protection is off: no tokens to issue')
      const ex = this.rampart
      if (ex === undefined) throw new Error('csrfToken() needs Rampart’s middleware to run first')
      return csrf.csrfToken(ex, sessionId)
    }
    const route = app.route
    app.route = function rampartRoute(this: Express, path: string) {
      const created = route.call(this, path)
      pipeline.#watch(created as unknown as Record<string, unknown>, path, this)
      return created
    } as typeof app.route
    app.use(this.middleware)
  }

  #beforeSend(ex: ExpressExchange): void {
    ex.sent = true
    try {
      this.#pipeline.beforeSend(ex)
      const hooks = ex.hooks
      if (hooks !== undefined) for (const hook of hooks.beforeSend) hook(ex)
    } catch (err) {
      // An answer on its way out is never failed by a hook.
      this.#core.logger.error({
        event: 'request.hook_failed',
        request_id: ex.context.requestId,
        err,
      })
    }
  }

  /** Wraps the route's method functions so their handlers, and the config among them, are seen. */
  #watch(route: Record<string, unknown>, path: string, app: Express): void {
    const stack = (app.router as unknown as { stack: Array<{ route?: unknown }> }).stack
    const layer = stack.findLast((l) => l.route === route) as SeenRoute['layer'] | undefined
    if (layer === undefined) return
    for (const method of HTTP_METHODS) {
      const add = route[method] as (...handlers: unknown[]) => unknown
      route[method] = (...handlers: unknown[]) => {
        const flat = handlers.flat(Number.POSITIVE_INFINITY)
        const tagged = flat.findIndex(isRouteMiddleware)
        const config = tagged === -1 ? {} : (flat[tagged] as RouteMiddleware).rampartRoute
        const methods =
          method === 'all' ? ['*'] : method === 'get' ? ['GET', 'HEAD'] : [method.toUpperCase()]
        const spec: RouteSpec = { methods, url: String(path), config }
        const seen: SeenRoute = { spec, hooks: this.#compile(spec), layer }
        this.#seen.push(seen)
        // The hook runs where `rp.route()` stands among the handlers (after the route's own
        // authentication middleware placed before it), or first when the route has none.
        const hook = this.#routeHook(seen)
        if (tagged === -1) flat.unshift(hook)
        else flat[tagged] = hook
        const last = flat.length - 1
        const handler = flat[last]
        if (last > 0 && typeof handler === 'function' && handler.length < 4)
          flat[last] = this.#tracked(handler as RequestHandler)
        return add.apply(route, flat)
      }
    }
  }

  /** The route's handler, counted while it runs (a request cut by the drain still cleans up). */
  #tracked(handler: RequestHandler): RequestHandler {
    const pipeline = this
    return function tracked(this: unknown, req, res, next) {
      const handlers = pipeline.handlers
      if (handlers === undefined) return handler.call(this, req, res, next)
      handlers.enter()
      try {
        return handlers.settled(handler.call(this, req, res, next))
      } catch (err) {
        handlers.exit()
        throw err
      }
    }
  }

  /** The route Express will most likely route this request to, when Rampart saw it registered. */
  #match(path: string, method: string): SeenRoute | undefined {
    for (const s of this.#seen) {
      const methods = s.spec.methods
      if (methods[0] !== '*' && !methods.includes(method)) continue
      if (s.layer.match(path) !== false) return s
    }
    return undefined
  }

  /**
   * True when something other than the routes Rampart saw may still answer `path`: a router or
   * app mounted on the app, or middleware mounted on a path (`app.use('/hooks', fn)`). App-wide
   * middleware (authentication, logging) answers nothing by itself, so with none of those an
   * unrouted request is a 404, not a CSRF refusal.
   */
  #mayBeRouted(path: string): boolean {
    const stack = (this.#app?.router as unknown as { stack: Layer[] } | undefined)?.stack ?? []
    for (const layer of stack) {
      if (layer.route !== undefined || layer.handle === this.middleware) continue
      if (layer.handle === this.notFound) return false
      const router = typeof (layer.handle as { stack?: unknown }).stack === 'object'
      const mounted = (layer.handle as { name?: string }).name === 'mounted_app'
      if ((layer.slash && !router && !mounted) || layer.match(path) === false) continue
      return true
    }
    return false
  }

  /** The app-wide middleware: the exchange and its context, `start`, the guards, served routes. */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    if ((req as Held).rampart !== undefined) {
      next()
      return
    }
    const ex = this.#exchange(req, res)
    const served = this.#servedRoute(ex.path, ex.method)
    if (served !== undefined) {
      ex.route = served.path
      ex.config = INTERNAL_ROUTE_CONFIG
      ex.matched = true
    } else {
      const seen = this.#match(ex.path, ex.method)
      if (seen !== undefined) {
        ex.route = seen.spec.url
        ex.config = seen.spec.config
        ex.hooks = seen.hooks
        ex.matched = true
      } else ex.matched = this.#mayBeRouted(ex.path)
    }
    ex.internal = isInternalRequest(ex.route !== 'unmatched', ex.route, ex.path)
    runWithContext(ex.context, () => {
      let refused: Verdict
      try {
        this.#pipeline.start(ex)
        refused = this.#pipeline.guard(ex)
      } catch (err) {
        refused = err as Error
      }
      if (refused !== undefined) next(refused)
      else if (served !== undefined) void this.#serve(ex, served, next)
      else next()
    })
  }

  /** The request's exchange, kept on `req`, and its end watched (one `close` listener). */
  #exchange(req: Request, res: Response): ExpressExchange {
    const ex = new ExpressExchange(req, res, contextFor(req.headers, req.socket.remoteAddress))
    ;(req as Held).rampart = ex
    res.on('close', this.#onClose)
    return ex
  }

  /**
   * The `close` listener of every response: one function made once, which finds the exchange
   * through `res.req`, instead of a closure and a `once` wrapper made per request.
   */
  readonly #onClose = (() => {
    const pipeline = this
    return function onClose(this: Response): void {
      const ex = (this.req as Held).rampart
      if (ex !== undefined) pipeline.#closed(ex)
    }
  })()

  #servedRoute(raw: string, method: string): ServedRoute | undefined {
    // As a router reads it (`/%68ealthz` is `/healthz`), like Fastify's.
    const path = raw.includes('%') ? decodedPath(raw) : raw
    for (const r of this.#pipeline.served) {
      if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue
      if (r.path.endsWith('*') ? path.startsWith(r.path.slice(0, -1)) : path === r.path) return r
    }
    return undefined
  }

  async #serve(ex: ExpressExchange, route: ServedRoute, next: NextFunction): Promise<void> {
    try {
      const body = route.method === 'POST' ? await this.#readBody(ex, NO_HOOKS) : undefined
      const out = await route.handle(ex, body === NOT_READ ? undefined : body)
      if (out === undefined) next(new HttpError(404))
      else sendServed(ex, out)
    } catch (err) {
      next(err)
    }
  }

  /** The response closed: `end` after an answer, `abort` for a client gone, 500 for a cut-off. */
  #closed(ex: ExpressExchange): void {
    if (ex.finished) return
    const req = ex.req
    // A route in a router is known only once Express routed the request.
    if (ex.route === 'unmatched' && req.route !== undefined) {
      ex.route = req.baseUrl + String((req.route as { path: unknown }).path)
      ex.context.route = ex.route
    }
    const seconds = ex.elapsedSeconds()
    if (!ex.res.writableFinished || ex.failedAfterHeaders) {
      this.#pipeline.closed(ex, seconds)
      return
    }
    const status = ex.res.statusCode
    this.#pipeline.end(ex, status, seconds)
    const hooks = ex.hooks
    if (hooks !== undefined) for (const hook of hooks.after) hook(ex, status)
  }

  /** The hook among a route's handlers: before the body, the body, before the handler. */
  #routeHook(seen: SeenRoute): RequestHandler {
    const pipeline = this
    const { hooks, spec } = seen
    return function rampartRouteHook(req, _res, next) {
      const ex = (req as Held).rampart
      if (ex === undefined) return next()
      // What Express routed to wins over what the middleware guessed.
      if (ex.hooks !== hooks) {
        ex.hooks = hooks
        ex.route = spec.url
        ex.config = spec.config
        ex.context.route = spec.url
      }
      let verdict: Verdict | Promise<Verdict>
      try {
        verdict = pipeline.#runRoute(ex, hooks)
      } catch (err) {
        verdict = err as Error
      }
      // Synchronous while no hook waits (a GET with a memory-store rate limit): no extra tick.
      if (!(verdict instanceof Promise)) return next(verdict)
      verdict.then(
        (refused) => runWithContext(ex.context, () => next(refused)),
        (err: unknown) => runWithContext(ex.context, () => next(err)),
      )
    }
  }

  #runRoute(ex: ExpressExchange, hooks: CompiledHooks): Verdict | Promise<Verdict> {
    const before = runHooks(hooks.beforeBody, ex, undefined)
    if (before instanceof Promise) return before.then((r) => r ?? this.#afterBody(ex, hooks))
    return before ?? this.#afterBody(ex, hooks)
  }

  #afterBody(ex: ExpressExchange, hooks: CompiledHooks): Verdict | Promise<Verdict> {
    const req = ex.req as { body?: unknown }
    const read = this.#readBody(ex, hooks)
    if (read === NOT_READ) return this.#beforeHandler(ex, hooks, req.body)
    return read.then((body) => {
      req.body = body
      return this.#beforeHandler(ex, hooks, body)
    })
  }

  /** Express validates nothing itself: `beforeValidation` and `beforeHandler` run in a row. */
  #beforeHandler(
    ex: ExpressExchange,
    hooks: CompiledHooks,
    body: unknown,
  ): Verdict | Promise<Verdict> {
    const first = runHooks(hooks.beforeValidation, ex, body)
    if (first instanceof Promise)
      return first.then((r) => r ?? runHooks(hooks.beforeHandler, ex, body))
    return first ?? runHooks(hooks.beforeHandler, ex, body)
  }

  /**
   * A JSON or urlencoded body, parsed (over `MAX_BODY_KB` → 413, refused by the body hooks'
   * guards → their error, malformed → 400); any other body (multipart) is left to the handler.
   */
  #readBody(ex: ExpressExchange, hooks: CompiledHooks): typeof NOT_READ | Promise<unknown> {
    if (BODYLESS.has(ex.method)) return NOT_READ
    const headers = ex.headers
    const type = mediaType(headers['content-type'])
    const json = isJsonMediaType(type)
    if (!json && type !== 'application/x-www-form-urlencoded') return NOT_READ
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined)
      return NOT_READ
    const limit = this.#core.limits.bodyBytes
    // Declared over the limit: refused unread (and so before `100 Continue`).
    if (Number(headers['content-length']) > limit) throw tooLarge(ex)
    let stream: Readable = ex.req
    for (const wrap of hooks.body) stream = wrap(ex, stream)
    return readText(ex, stream, limit).then((text) => {
      if (!json) return parseForm(text)
      if (text.length === 0)
        throw new HttpError(400, {
          detail: 'The Content-Type is application/json but the body is empty.',
        })
      try {
        return parseJson(text)
      } catch (err) {
        throw new HttpError(400, { detail: 'The request body is not valid JSON.', cause: err })
      }
    })
  }

  /** `rp.notFound`: what no route answered is a 404 problem (or page). */
  readonly notFound = (_req: Request, _res: Response, next: NextFunction): void => {
    next(new HttpError(404))
  }

  /** `rp.errorHandler`: every error becomes a negotiated answer; never a stack trace. */
  readonly errorHandler = (
    err: unknown,
    req: Request,
    res: Response,
    _next: NextFunction,
  ): void => {
    // A request Rampart's middleware never saw (a mounted app's) still gets a Rampart answer.
    const ex = (req as Held).rampart ?? this.#exchange(req, res)
    const out = errorAnswer(this.#core, ex, err)
    this.#pipeline.failed(ex, err, out?.status ?? 500)
    // Too late for an error answer: cut the response off (counted as a 500 when it closes).
    if (out === undefined) {
      res.destroy()
      return
    }
    // The error answer replaces whatever the handler had set for its own.
    for (const name of STALE) res.removeHeader(name)
    res.statusCode = out.status
    ex.setHeaders(out.headers)
    res.setHeader('content-type', out.contentType)
    res.setHeader('content-length', Buffer.byteLength(out.body))
    res.end(ex.method === 'HEAD' ? undefined : out.body)
  }
}

type Layer = { route?: unknown; handle: unknown; slash: boolean; match(path: string): unknown }
/** Headers of a handler's own answer that an error answer must not keep. */
const STALE = [
  'content-type',
  'content-length',
  'content-disposition',
  'content-encoding',
  'etag',
  'last-modified',
]
const NOT_READ = Symbol('rampart.notRead')

type RouteCheck = (ex: ExpressExchange, body: unknown) => Verdict | Promise<Verdict>

/** Runs the checks in order until one refuses; synchronous until one returns a promise. */
function runHooks(
  fns: ReadonlyArray<RouteCheck>,
  ex: ExpressExchange,
  body: unknown,
  from = 0,
): Verdict | Promise<Verdict> {
  for (let i = from; i < fns.length; i++) {
    const verdict = (fns[i] as RouteCheck)(ex, body)
    if (verdict instanceof Promise) return verdict.then((r) => r ?? runHooks(fns, ex, body, i + 1))
    if (verdict !== undefined) return verdict
  }
  return undefined
}

function isRouteMiddleware(h: unknown): h is RouteMiddleware {
  return typeof h === 'function' && (h as Partial<RouteMiddleware>).rampartRoute !== undefined
}

/** 413; the connection is not kept for the rest of the body. */
function tooLarge(ex: ExpressExchange): HttpError {
  ex.res.setHeader('connection', 'close')
  return new HttpError(413, { detail: 'The request body is larger than this endpoint accepts.' })
}

function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/**
 * `JSON.parse` refusing `__proto__` keys, and `constructor` keys holding a `prototype` (what
 * would pollute prototypes once merged into another object), as Fastify's parser does.
 */
function parseJson(text: string): unknown {
  const suspect = text.includes('__proto__') || text.includes('constructor')
  return JSON.parse(
    text,
    suspect
      ? (key, value: unknown) => {
          if (
            key === '__proto__' ||
            (key === 'constructor' &&
              typeof value === 'object' &&
              value !== null &&
              Object.hasOwn(value, 'prototype'))
          )
            throw new SyntaxError('Object contains forbidden prototype property')
          return value
        }
      : undefined,
  ) as unknown
}

/** A urlencoded form as flat fields (a repeated name gives an array), no nesting. */
function parseForm(text: string): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = Object.create(null)
  for (const [k, v] of new URLSearchParams(text)) {
    const had = form[k]
    form[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v]
  }
  return form
}

/** Reads `stream` (the request through the body hooks) as UTF-8, refusing past `limit` bytes. */
function readText(ex: ExpressExchange, stream: Readable, limit: number): Promise<string> {
  const req = ex.req
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (err?: unknown) => {
      stream.off('data', onData)
      stream.off('end', done)
      stream.off('error', done)
      req.off('aborted', onAborted)
      if (err === undefined) resolve(Buffer.concat(chunks, size).toString('utf8'))
      else {
        req.unpipe()
        reject(err)
      }
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) done(tooLarge(ex))
      else chunks.push(chunk)
    }
    const onAborted = () => done(new HttpError(400, { detail: 'The request body was cut off.' }))
    stream.on('data', onData)
    stream.once('end', done)
    stream.once('error', done)
    req.once('aborted', onAborted)
  })
}

/** Sends what a feature's own route answered (`/metrics`, `/readyz`, the console). */
function sendServed(ex: ExpressExchange, out: ServedAnswer): void {
  const res = ex.res
  res.statusCode = out.status ?? 200
  if (out.headers !== undefined) ex.setHeaders(out.headers)
  const body = out.body
  let payload: string | Buffer
  if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body
  else {
    payload = JSON.stringify(body)
    if (!res.hasHeader('content-type'))
      res.setHeader('content-type', 'application/json; charset=utf-8')
  }
  res.setHeader('content-length', Buffer.byteLength(payload))
  res.end(ex.method === 'HEAD' ? undefined : payload)
}
