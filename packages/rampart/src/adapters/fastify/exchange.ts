import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RequestContext } from '../../context/context.js'
import { Exchange, type HeaderBlock } from '../../pipeline/exchange.js'

/** One request on Fastify: the request's only Rampart state, kept in `request.rampart`. */
export class FastifyExchange extends Exchange {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders

  constructor(
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly context: RequestContext,
  ) {
    super()
    this.method = request.method
    this.url = request.url
    this.headers = request.headers
  }

  get incoming() {
    return this.request.raw
  }
  get httpVersion(): string {
    return this.request.raw.httpVersion
  }
  params(): Readonly<Record<string, string | undefined>> {
    return this.request.params as Record<string, string | undefined>
  }
  query(name: string): string | string[] | undefined {
    return (this.request.query as Record<string, string | string[] | undefined> | undefined)?.[name]
  }
  get statusCode(): number {
    return this.reply.statusCode
  }
  get headersSent(): boolean {
    return this.reply.raw.headersSent
  }
  setHeader(name: string, value: string | readonly string[]): void {
    this.reply.header(name, value)
  }
  setHeaders(block: HeaderBlock): void {
    this.reply.headers(block)
  }
  getHeader(name: string): unknown {
    return this.reply.getHeader(name)
  }
  hasHeader(name: string): boolean {
    return this.reply.hasHeader(name)
  }
}
