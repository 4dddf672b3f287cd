import type { Exchange } from './exchange.js'
import type { Feature, RouteHooks, RouteSpec, ServedRoute, Verdict } from './feature.js'

/**
 * Status logged for a request whose client closed the connection before the response was
 * sent: nginx's "client closed request", so log pipelines that know it read it right.
 */
export const CLIENT_CLOSED_REQUEST = 499

/**
 * Status an answer counts as when the server failed after its headers were sent (a stream that
 * errored, a handler that threw after writing): the client saw a cut-off response, and the fault
 * is the server's, not a client hang-up.
 */
export const FAILED_AFTER_HEADERS = 500

type Start = (ex: Exchange) => void
type Guard = (ex: Exchange) => Verdict
type End = (ex: Exchange, status: number, seconds: number) => void
type Abort = (ex: Exchange, seconds: number) => void
type Failed = (ex: Exchange, error: unknown, status: number) => void

/**
 * The ordered features of one app, flattened into one list per point of a request's life, so
 * an adapter runs every feature's work at that point from ONE framework hook (each hook costs a
 * dispatch per request) and adds no hook for an empty list. Framework-free: the adapters call
 * these at their hooks or middleware, with their own subclass of `Exchange`.
 */
export class Pipeline {
  readonly #starts: Start[] = []
  readonly #guards: Guard[] = []
  readonly #ends: End[] = []
  readonly #aborts: Abort[] = []
  readonly #failed: Failed[] = []
  readonly #beforeSends: Start[] = []
  readonly #forRoute: Array<(route: RouteSpec) => RouteHooks | undefined> = []
  readonly #ready: Array<(routes: readonly RouteSpec[]) => Promise<void> | void> = []
  /** Every route registered after the pipeline was mounted (the app's and Rampart's own). */
  readonly routes: RouteSpec[] = []
  /** Endpoints the features serve, in feature order. */
  readonly served: ServedRoute[] = []

  constructor(features: readonly Feature[] = []) {
    for (const f of features) this.add(f)
  }

  /** Adds a feature after the ones already listed (its work runs after theirs). */
  add(f: Feature): void {
    if (f.start) this.#starts.push(f.start.bind(f))
    if (f.guard) this.#guards.push(f.guard.bind(f))
    if (f.end) this.#ends.push(f.end.bind(f))
    if (f.abort) this.#aborts.push(f.abort.bind(f))
    if (f.failed) this.#failed.push(f.failed.bind(f))
    if (f.beforeSend) this.#beforeSends.push(f.beforeSend.bind(f))
    if (f.forRoute) this.#forRoute.push(f.forRoute.bind(f))
    if (f.ready) this.#ready.push(f.ready.bind(f))
    if (f.routes) this.served.push(...f.routes)
  }

  get hasBeforeSend(): boolean {
    return this.#beforeSends.length > 0
  }

  /** Every feature's `beforeSend`, in order: the last step before the headers of any answer. */
  beforeSend(ex: Exchange): void {
    for (const beforeSend of this.#beforeSends) beforeSend(ex)
  }

  get hasGuards(): boolean {
    return this.#guards.length > 0
  }
  get hasFailed(): boolean {
    return this.#failed.length > 0
  }

  /** Every feature's `start`, in order. */
  start(ex: Exchange): void {
    for (const start of this.#starts) start(ex)
  }

  /** The guards in order; the first refusal wins. */
  guard(ex: Exchange): Verdict {
    for (const guard of this.#guards) {
      const refused = guard(ex)
      if (refused !== undefined) return refused
    }
    return undefined
  }

  /** The answer was sent: every `end`, once. */
  end(ex: Exchange, status: number, seconds: number): void {
    ex.finished = true
    for (const end of this.#ends) end(ex, status, seconds)
  }

  /**
   * The connection closed. After a normal finish `end` has run; a close before that means the
   * client went away (every `abort`), or the server cut the response off after its headers were
   * sent (`end` with a 500).
   */
  closed(ex: Exchange, seconds: number): void {
    if (ex.finished) return
    ex.finished = true
    if (ex.failedAfterHeaders) {
      for (const end of this.#ends) end(ex, FAILED_AFTER_HEADERS, seconds)
      return
    }
    ex.clientGone = true
    for (const abort of this.#aborts) abort(ex, seconds)
  }

  /** An error reached the error handler. */
  failed(ex: Exchange, error: unknown, status: number): void {
    for (const failed of this.#failed) failed(ex, error, status)
  }

  /** Records a registered route and returns the hooks the features want on it, in order. */
  route(spec: RouteSpec): RouteHooks[] {
    this.routes.push(spec)
    const hooks: RouteHooks[] = []
    for (const forRoute of this.#forRoute) {
      const h = forRoute(spec)
      if (h !== undefined) hooks.push(h)
    }
    return hooks
  }

  /** Every feature's `ready`, in order, once the app is ready to listen. */
  async ready(): Promise<void> {
    for (const ready of this.#ready) await ready(this.routes)
  }
}
