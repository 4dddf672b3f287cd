import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express'
import { isInternalPath } from '../../config/defaults.js'
import { createContext, runWithContext } from '../../context/context.js'
import { requestIdFrom } from '../../context/request-id.js'
import { HttpError } from '../../errors/http-error.js'
import { pathOf } from '../../pipeline/exchange.js'
import type {
  Feature,
  RouteSpec,
  ServedAnswer,
  ServedRoute,
  Verdict,
} from '../../pipeline/feature.js'
import type { RouteConfig } from '../../pipeline/route-config.js'
import { type CompiledHooks, ExpressExchange } from './exchange.js'

/** What the adapter needs besides the features: how an error becomes an answer. */
export interface ErrorAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly contentType: string
  readonly body: string
}

export interface PipelineSeams {
  readonly features: readonly Feature[]
  /** Renders (and logs) an error as this exchange's answer. */
  answerError(ex: ExpressExchange, error: unknown): ErrorAnswer
  /** Reports a failure after the headers went out (logged, counted as a 500 when it closes). */
  failedAfterHeaders(ex: ExpressExchange, error: unknown): void
}

type Held = Request & { rampart?: ExpressExchange }
type Hook<K extends keyof CompiledHooks> = CompiledHooks[K][number]

/** A route config middleware made by `rp.route()`; the app's `route` wrapper reads its tag. */
export interface RouteMiddleware extends RequestHandler {
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
  beforeHandler: [],
  beforeSend: [],
  after: [],
})

const HTTP_METHODS = [
  'get',
  'post',
  'put',
  'patch',
  'delete',
  'options',
  'head',
  'all',
] as const

/** Methods whose body Rampart never reads. */
const BODYLESS = new Set(['GET', 'HEAD'])

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType?.split(';', 1)[0] ?? '').trim().toLowerCase()
}

function run<T>(fns: ReadonlyArray<(ex: ExpressExchange) => T>, ex: ExpressExchange): void {
  for (let i = 0; i < fns.length; i++) (fns[i] as (ex: ExpressExchange) => T)(ex)
}

/**
 * Translates the features onto Express: one app-wide middleware (context, start, guards, the
 * features' own routes), a hook prepended to each route seen at registration (body parsing and
 * the per-route hooks), the response-side hooks (a `writeHead` on the app's response prototype,
 * one `close` listener per response), the not-found and error middleware.
 */
export class ExpressPipeline {
  readonly #seams: PipelineSeams
  readonly #starts: Array<NonNullable<Feature['start']>> = []
  readonly #guards: Array<NonNullable<Feature['guard']>> = []
  readonly #fails: Array<NonNullable<Feature['failed']>> = []
  readonly #ends: Array<NonNullable<Feature['end']>> = []
  readonly #aborts: Array<NonNullable<Feature['abort']>> = []
  readonly #served: ServedRoute[] = []
  readonly #seen: SeenRoute[] = []
  /** Hooks for answers no seen route gave (404s, routes in routers Rampart did not see). */
  readonly #fallback: CompiledHooks
  readonly #bodyBytes: number
  #app: Express | undefined

  constructor(seams: PipelineSeams, bodyBytes: number) {
    this.#seams = seams
    this.#bodyBytes = bodyBytes
    for (const f of seams.features) {
      if (f.start) this.#starts.push(f.start.bind(f))
      if (f.guard) this.#guards.push(f.guard.bind(f))
      if (f.failed) this.#fails.push(f.failed.bind(f))
      if (f.end) this.#ends.push(f.end.bind(f))
      if (f.abort) this.#aborts.push(f.abort.bind(f))
      if (f.routes) this.#served.push(...f.routes)
    }
    this.#fallback = this.#compile({ methods: [], url: 'unmatched', config: {} })
  }

  /** Every route seen so far (what `Feature.ready` checks, e.g. the SLO routes). */
  routes(): RouteSpec[] {
    return this.#seen.map((s) => s.spec)
  }

  #compile(spec: RouteSpec): CompiledHooks {
    const hooks = {
      beforeBody: [] as Array<Hook<'beforeBody'>>,
      body: [] as Array<Hook<'body'>>,
      beforeHandler: [] as Array<Hook<'beforeHandler'>>,
      beforeSend: [] as Array<Hook<'beforeSend'>>,
      after: [] as Array<Hook<'after'>>,
    }
    for (const f of this.#seams.features) {
      const own = f.forRoute?.(spec)
      if (own === undefined) continue
      for (const k of Object.keys(hooks) as Array<keyof typeof hooks>) {
        const fn = own[k]
        if (fn !== undefined) (hooks[k] as unknown[]).push(fn.bind(own))
      }
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
    // Just before the headers go out (Node calls `writeHead` for implicit headers too): one
    // prototype layer for the app's responses instead of a wrapper per response.
    const pipeline = this
    const proto = Object.getPrototypeOf(app.response) as Response
    const writeHead = proto.writeHead
    Object.setPrototypeOf(
      app.response,
      Object.create(proto, {
        writeHead: {
          value: function rampartWriteHead(this: Response, ...args: unknown[]) {
            const ex = (this.req as Held | undefined)?.rampart
            if (ex !== undefined && !ex.sent) pipeline.#beforeSend(ex)
            return (writeHead as (...a: unknown[]) => Response).apply(this, args)
          },
        },
      }),
    )
    app.request.csrfToken = function unavailable(): string {
      throw new Error('CSRF tokens are not available: the CSRF protection is off')
    }
    const route = app.route
    app.route = function rampartRoute(this: Express, path: string) {
      const created = route.call(this, path)
      pipeline.#watch(created, path, this)
      return created
    } as typeof app.route
    app.use(this.middleware)
  }

  #beforeSend(ex: ExpressExchange): void {
    ex.sent = true
    const hooks = ex.hooks ?? this.#fallback
    try {
      run(hooks.beforeSend, ex)
    } catch (err) {
      // Never fail an answer on its way out.
      this.#seams.failedAfterHeaders(ex, err)
    }
  }

  /** Wraps the route's method functions so their handlers are seen, with the config among them. */
  #watch(route: Record<string, unknown>, path: string, app: Express): void {
    const stack = (app.router as unknown as { stack: Array<{ route?: unknown }> }).stack
    const layer = stack.findLast((l) => l.route === route) as SeenRoute['layer'] | undefined
    for (const method of HTTP_METHODS) {
      const add = route[method] as ((...handlers: unknown[]) => unknown) | undefined
      if (add === undefined) continue
      route[method] = (...handlers: unknown[]) => {
        const flat = handlers.flat(Infinity)
        const tagged = flat.findIndex((h) => isRouteMiddleware(h))
        const config = tagged === -1 ? {} : (flat[tagged] as RouteMiddleware).rampartRoute
        const methods =
          method === 'all'
            ? ['*']
            : method === 'get'
              ? ['GET', 'HEAD']
              : [method.toUpperCase()]
        const spec: RouteSpec = { methods, url: typeof path === 'string' ? path : String(path), config }
        const hooks = this.#compile(spec)
        const seen: SeenRoute = {
          spec,
          hooks,
          layer: layer ?? { match: () => false },
        }
        this.#seen.push(seen)
        // The hook runs where `rp.route()` stands among the handlers (after the route's own
        // authentication middleware placed before it), or first when the route has none.
        const hook = this.#routeHook(seen)
        if (tagged === -1) flat.unshift(hook)
        else flat[tagged] = hook
        return add.apply(route, flat)
      }
    }
  }

  /** The route (and its hooks) Express will route this request to, when Rampart saw it. */
  #match(path: string, method: string): SeenRoute | undefined {
    const seen = this.#seen
    for (let i = 0; i < seen.length; i++) {
      const s = seen[i] as SeenRoute
      const methods = s.spec.methods
      if (methods[0] !== '*' && !methods.includes(method)) continue
      if (s.layer.match(path) !== false) return s
    }
    return undefined
  }

  /** True when some middleware other than Rampart's (a mounted router) may answer `path`. */
  #mayBeRouted(path: string): boolean {
    const app = this.#app
    if (app === undefined) return true
    const stack = (app.router as unknown as { stack: Array<{ route?: unknown; handle: unknown; match(p: string): unknown }> }).stack
    for (const layer of stack) {
      if (layer.route !== undefined || layer.handle === this.middleware) continue
      if (layer.handle === this.notFound || layer.handle === this.errorHandler) continue
      if (layer.match(path) !== false) return true
    }
    return false
  }

  /** The app-wide middleware: the exchange, its context, `start`, the guards, served routes. */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const held = req as Held
    if (held.rampart !== undefined) return next()
    const startedAt = performance.now()
    const ctx = createContext(requestIdFrom(req.headers['x-request-id']), req.socket.remoteAddress)
    const ex = new ExpressExchange(req, res, ctx, startedAt)
    held.rampart = ex
    const path = ex.path
    const served = this.#servedRoute(path, req.method)
    const seen = served === undefined ? this.#match(path, req.method) : undefined
    if (served !== undefined) {
      ex.route = path
      ex.matched = true
    } else if (seen !== undefined) {
      ex.route = seen.spec.url
      ex.config = seen.spec.config
      ex.matched = true
      ex.hooks = seen.hooks
    } else ex.matched = this.#mayBeRouted(path)
    ctx.route = ex.route
    ex.internal = isInternalPath(ex.route === 'unmatched' ? path : ex.route)
    res.setHeader('x-request-id', ctx.requestId)
    res.once('close', () => this.#closed(ex))
    runWithContext(ctx, () => {
      try {
        run(this.#starts, ex)
        for (let i = 0; i < this.#guards.length; i++) {
          const refused = (this.#guards[i] as (ex: ExpressExchange) => Verdict)(ex)
          if (refused !== undefined) return next(refused)
        }
      } catch (err) {
        return next(err)
      }
      if (served !== undefined) return void this.#serve(ex, served, next)
      next()
    })
  }

  #servedRoute(path: string, method: string): ServedRoute | undefined {
    for (const r of this.#served) {
      if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue
      if (r.path.endsWith('*') ? path.startsWith(r.path.slice(0, -1)) : path === r.path) return r
    }
    return undefined
  }

  async #serve(ex: ExpressExchange, route: ServedRoute, next: NextFunction): Promise<void> {
    try {
      const body = route.method === 'POST' ? await this.#readBody(ex, NO_HOOKS) : undefined
      const out = await route.handle(ex, body)
      if (out === undefined) return next(new HttpError(404))
      sendServed(ex, out)
    } catch (err) {
      next(err)
    }
  }

  /** Where the response ended: `end` for an answer, `abort` for a client gone, 500 for a cut-off. */
  #closed(ex: ExpressExchange): void {
    if (ex.finished) return
    ex.finished = true
    const res = ex.res
    // A sub-router's route is only known once Express routed it.
    if (ex.route === 'unmatched' && ex.req.route !== undefined) {
      ex.route = ex.req.baseUrl + String((ex.req.route as { path: unknown }).path)
      ex.context.route = ex.route
    }
    const seconds = (performance.now() - ex.startedAt) / 1000
    const completed = res.writableFinished && !ex.failedAfterHeaders
    if (!completed && !ex.failedAfterHeaders) {
      for (const abort of this.#aborts) abort(ex)
      return
    }
    const status = completed ? res.statusCode : 500
    const after = (ex.hooks ?? NO_HOOKS).after
    for (let i = 0; i < after.length; i++) (after[i] as Hook<'after'>)(ex, status)
    for (let i = 0; i < this.#ends.length; i++)
      (this.#ends[i] as NonNullable<Feature['end']>)(ex, status, seconds)
  }

  /** The hook put among a route's handlers: route hooks before the body, body, before the handler. */
  #routeHook(seen: SeenRoute): RequestHandler {
    const { hooks } = seen
    const pipeline = this
    return function rampartRouteHook(req, _res, next) {
      const ex = (req as Held).rampart
      if (ex === undefined) return next()
      // What Express routed to wins over what the middleware matched ahead.
      if (ex.hooks !== hooks) {
        ex.hooks = hooks
        ex.route = seen.spec.url
        ex.config = seen.spec.config
        ex.matched = true
        ex.context.route = ex.route
      }
      pipeline.#runRoute(ex, hooks).then(
        (refused) => runWithContext(ex.context, () => next(refused)),
        (err: unknown) => runWithContext(ex.context, () => next(err)),
      )
    }
  }

  async #runRoute(ex: ExpressExchange, hooks: CompiledHooks): Promise<Verdict> {
    for (const hook of hooks.beforeBody) {
      const refused = await hook(ex)
      if (refused !== undefined) return refused
    }
    const body = await this.#readBody(ex, hooks)
    if (body !== NOT_READ) (ex.req as { body?: unknown }).body = body
    for (const hook of hooks.beforeHandler) {
      const refused = await hook(ex, body === NOT_READ ? (ex.req as { body?: unknown }).body : body)
      if (refused !== undefined) return refused
    }
    return undefined
  }

  /**
   * Parses a JSON or urlencoded body into a value (limits: `MAX_BODY_KB` → 413, the body hooks'
   * guards → their refusal, malformed → 400); other bodies (multipart) are left to the handler.
   */
  async #readBody(ex: ExpressExchange, hooks: CompiledHooks): Promise<unknown> {
    const req = ex.req
    if (BODYLESS.has(ex.method)) return NOT_READ
    const type = mediaTypeOf(req.headers['content-type'])
    const json = type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
    if (!json && type !== 'application/x-www-form-urlencoded') return NOT_READ
    const declared = req.headers['content-length']
    if (declared === undefined && req.headers['transfer-encoding'] === undefined) return NOT_READ
    const limit = this.#bodyBytes
    if (Number(declared) > limit) {
      // Refused unread: the connection is not kept for the rest of it.
      ex.res.setHeader('connection', 'close')
      throw tooLarge()
    }
    let stream: Readable = req
    for (const wrap of hooks.body) stream = wrap(ex, stream)
    const text = await readText(req, stream, limit, ex)
    if (json) {
      if (text.length === 0)
        throw new HttpError(400, {
          detail: 'The Content-Type is application/json but the body is empty.',
        })
      try {
        return JSON.parse(text) as unknown
      } catch (err) {
        throw new HttpError(400, { detail: 'The request body is not valid JSON.', cause: err })
      }
    }
    const form: Record<string, string | string[]> = Object.create(null)
    for (const [k, v] of new URLSearchParams(text)) {
      const had = form[k]
      form[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v]
    }
    return form
  }

  /** `rp.notFound`: what no route answered is a 404 problem (or page). */
  readonly notFound = (_req: Request, _res: Response, next: NextFunction): void => {
    next(new HttpError(404))
  }

  /** `rp.errorHandler`: every error becomes a negotiated answer; never a stack trace. */
  readonly errorHandler = (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let ex = (req as Held).rampart
    if (ex === undefined) {
      // A request that skipped the middleware (mounted before it): give it an exchange now.
      this.middleware(req, res, () => undefined)
      ex = (req as Held).rampart as ExpressExchange
    }
    if (res.headersSent) {
      // Too late for an error answer: cut the response off, counted as a 500 when it closes.
      ex.failedAfterHeaders = true
      this.#seams.failedAfterHeaders(ex, err)
      res.destroy()
      return
    }
    const out = this.#seams.answerError(ex, err)
    for (let i = 0; i < this.#fails.length; i++)
      (this.#fails[i] as NonNullable<Feature['failed']>)(ex, err, out.status)
    // The error answer replaces whatever the handler had set for its own answer.
    for (const name of ['content-type', 'content-length', 'content-disposition', 'etag', 'last-modified'])
      res.removeHeader(name)
    res.statusCode = out.status
    ex.setHeaders(out.headers)
    res.setHeader('content-type', out.contentType)
    res.setHeader('content-length', Buffer.byteLength(out.body))
    res.end(req.method === 'HEAD' ? undefined : out.body)
  }
}

const NOT_READ = Symbol('rampart.notRead')

function isRouteMiddleware(h: unknown): h is RouteMiddleware {
  return typeof h === 'function' && (h as Partial<RouteMiddleware>).rampartRoute !== undefined
}

function tooLarge(): HttpError {
  return new HttpError(413, { detail: 'The request body is larger than this endpoint accepts.' })
}

/** Reads `stream` (the request, through the body hooks) as UTF-8, refusing past `limit` bytes. */
function readText(
  req: Request,
  stream: Readable,
  limit: number,
  ex: ExpressExchange,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const fail = (err: unknown) => {
      cleanup()
      req.unpipe?.()
      reject(err)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        ex.res.setHeader('connection', 'close')
        fail(tooLarge())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(Buffer.concat(chunks, size).toString('utf8'))
    }
    const onAborted = () => fail(new HttpError(400, { detail: 'The request body was cut off.' }))
    const cleanup = () => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', fail)
      req.off('aborted', onAborted)
    }
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', fail)
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
    if (!res.hasHeader('content-type')) res.setHeader('content-type', 'application/json; charset=utf-8')
  }
  res.setHeader('content-length', Buffer.byteLength(payload))
  res.end(ex.method === 'HEAD' ? undefined : payload)
}
