import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Request, Response } from 'express'
import type { RequestContext } from '../../context/context.js'
import { Exchange, type HeaderBlock } from '../../pipeline/exchange.js'
import type { RouteHooks } from '../../pipeline/feature.js'

/** The per-route hooks of one registered route, compiled once (one array per point). */
export interface CompiledHooks {
  readonly beforeBody: ReadonlyArray<NonNullable<RouteHooks['beforeBody']>>
  readonly body: ReadonlyArray<NonNullable<RouteHooks['body']>>
  readonly beforeValidation: ReadonlyArray<NonNullable<RouteHooks['beforeValidation']>>
  readonly beforeHandler: ReadonlyArray<NonNullable<RouteHooks['beforeHandler']>>
  readonly beforeSend: ReadonlyArray<NonNullable<RouteHooks['beforeSend']>>
  readonly after: ReadonlyArray<NonNullable<RouteHooks['after']>>
}

/**
 * One Express request and its answer, as the capabilities see it. Made once per request by
 * Rampart's middleware and kept on `req.rampart`: the request's only Rampart state.
 */
export class ExpressExchange extends Exchange {
  readonly method: string
  /** The target as received (Express rewrites `req.url` inside mounted routers). */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly incoming: IncomingMessage
  /** The hooks of the route that matched (run at the route and just before the headers go out). */
  hooks: CompiledHooks | undefined = undefined
  /** The hooks' `beforeSend` ran (the headers are about to go, or went, out). */
  sent = false

  constructor(
    readonly req: Request,
    readonly res: Response,
    readonly context: RequestContext,
  ) {
    super()
    this.method = req.method
    this.url = req.url
    this.headers = req.headers
    this.incoming = req
  }

  get httpVersion(): string {
    return this.req.httpVersion
  }

  params(): Readonly<Record<string, string | undefined>> {
    return (this.req.params as Record<string, string | undefined> | undefined) ?? {}
  }

  query(name: string): string | string[] | undefined {
    const value = (this.req.query as Record<string, unknown> | undefined)?.[name]
    return typeof value === 'string' || Array.isArray(value)
      ? (value as string | string[])
      : undefined
  }

  get statusCode(): number {
    return this.res.statusCode
  }

  get headersSent(): boolean {
    return this.res.headersSent
  }

  setHeader(name: string, value: string | readonly string[]): void {
    this.res.setHeader(name, value as string | string[])
  }

  setHeaders(block: HeaderBlock): void {
    const res = this.res
    for (const name in block) res.setHeader(name, block[name] as string)
  }

  getHeader(name: string): unknown {
    return this.res.getHeader(name)
  }

  hasHeader(name: string): boolean {
    return this.res.hasHeader(name)
  }
}
