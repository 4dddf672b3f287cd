import type { Readable } from 'node:stream'
import type { Exchange } from './exchange.js'
import type { RouteConfig } from './route-config.js'

/** A route as registered with the framework (Fastify's `onRoute`, Express's `app.route`). */
export interface RouteSpec {
  /** Methods the route answers (upper case). */
  readonly methods: readonly string[]
  /** Its template (`/orders/:id`). */
  readonly url: string
  readonly config: RouteConfig
  /** The route's own body limit in bytes, when it sets one (else `MAX_BODY_KB` applies). */
  readonly bodyLimit?: number | undefined
}

/** A refusal (an `HttpError` to answer with) or `undefined` to go on. */
export type Verdict = Error | undefined

/**
 * What a capability needs on one route only, so routes without it pay nothing. Adapters run
 * them at fixed points of the route's life, in the order the features are listed.
 */
export interface RouteHooks {
  /** After the app's own request hooks (where a service authenticates), before the body is read. */
  beforeBody?(ex: Exchange): Verdict | Promise<Verdict>
  /** Wraps the request body stream before the framework parses it (JSON depth, form fields). */
  body?(ex: Exchange, stream: Readable): Readable
  /**
   * After the body was parsed, before it is validated against the route's schema (a check that
   * must refuse before a schema error is answered: the CSRF body token). First among the
   * route's own such hooks.
   */
  beforeValidation?(ex: Exchange, body: unknown): Verdict | Promise<Verdict>
  /**
   * After the body was parsed and validated, last before the handler (after the route's own
   * hooks of that point, where a service authenticates: the audit row).
   */
  beforeHandler?(ex: Exchange, body: unknown): Verdict | Promise<Verdict>
  /** Last thing before the headers go out (after the app's own hooks). */
  beforeSend?(ex: Exchange): void
  /** Once the answer was sent. */
  after?(ex: Exchange, status: number): void
}

/** An endpoint a capability serves itself (`/metrics`, `/healthz`, `/readyz`, `/_rampart`). */
export interface ServedRoute {
  readonly method: 'GET' | 'POST'
  /** The path; a trailing `*` serves everything under the prefix. */
  readonly path: string
  /** Throws an `HttpError` to refuse (rendered like every other error); `undefined` means not found. */
  handle(ex: Exchange, body?: unknown): Promise<ServedAnswer | undefined> | ServedAnswer | undefined
}

export interface ServedAnswer {
  readonly status?: number
  readonly headers?: Readonly<Record<string, string>>
  /** A string or buffer is sent as is; anything else as JSON. */
  readonly body: unknown
}

/**
 * One capability, as the pipeline sees it. Nothing here names a framework: adapters map each
 * member to their hooks or middleware. Every member is optional; a capability that is off
 * contributes no feature at all (and so costs nothing per request).
 */
export interface Feature {
  readonly name: string
  /** First thing on every request, once the context exists and the route is known when it can be. */
  start?(ex: Exchange): void
  /** Before routing-dependent work and before the body is read; may refuse. */
  guard?(ex: Exchange): Verdict
  /**
   * Last thing before the headers go out on EVERY answer (routed, not found, served), after the
   * app's own hooks and before the route's `beforeSend` hooks.
   */
  beforeSend?(ex: Exchange): void
  /** Per-route work, decided once when the route is registered. */
  forRoute?(route: RouteSpec): RouteHooks | undefined
  /** An error reached the error handler (before it is rendered). */
  failed?(ex: Exchange, error: unknown, status: number): void
  /** The answer was sent; `status` is what it counts as, `seconds` from the first byte. */
  end?(ex: Exchange, status: number, seconds: number): void
  /** The client went away before the answer finished (`end` never runs for it); `seconds` from the first byte. */
  abort?(ex: Exchange, seconds: number): void
  /** Endpoints this capability serves. */
  readonly routes?: readonly ServedRoute[]
  /** Once the app is ready to listen (open databases, check SLO routes). */
  ready?(routes: readonly RouteSpec[]): Promise<void> | void
}
