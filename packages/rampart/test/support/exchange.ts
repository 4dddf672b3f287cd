import { type IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import { createContext, type RequestContext } from '../../src/context/context.js'
import { Exchange, type HeaderBlock } from '../../src/pipeline/exchange.js'
import type { RouteConfig } from '../../src/pipeline/route-config.js'

export interface TestExchangeInit {
  method?: string
  url?: string
  headers?: IncomingHttpHeaders
  route?: string
  config?: RouteConfig
  matched?: boolean
  remoteAddress?: string
  params?: Record<string, string | undefined>
  query?: Record<string, string | string[] | undefined>
  status?: number
}

/**
 * An Exchange with no framework behind it, for the capabilities' own tests: the answer side is
 * a plain header map and status, and `incoming` a real (unconnected) Node request message.
 */
export class TestExchange extends Exchange {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly context: RequestContext
  readonly incoming: IncomingMessage
  readonly answer = new Map<string, string | readonly string[]>()
  status: number
  sent = false
  readonly #params: Record<string, string | undefined>
  readonly #query: Record<string, string | string[] | undefined>

  constructor(init: TestExchangeInit = {}) {
    super()
    this.method = init.method ?? 'GET'
    this.url = init.url ?? '/'
    this.headers = init.headers ?? {}
    this.context = createContext('req-1')
    const socket = new Socket()
    Object.defineProperty(socket, 'remoteAddress', { value: init.remoteAddress ?? '127.0.0.1' })
    this.incoming = new IncomingMessage(socket)
    this.incoming.headers = this.headers
    if (init.route !== undefined) this.route = init.route
    if (init.config !== undefined) this.config = init.config
    this.matched = init.matched ?? init.route !== undefined
    this.#params = init.params ?? {}
    this.#query = init.query ?? {}
    this.status = init.status ?? 200
  }

  params() {
    return this.#params
  }
  query(name: string) {
    return this.#query[name]
  }
  get statusCode() {
    return this.status
  }
  get headersSent() {
    return this.sent
  }
  setHeader(name: string, value: string | readonly string[]) {
    this.answer.set(name.toLowerCase(), value)
  }
  setHeaders(block: HeaderBlock) {
    for (const [name, value] of Object.entries(block)) this.setHeader(name, value)
  }
  getHeader(name: string) {
    return this.answer.get(name.toLowerCase())
  }
  hasHeader(name: string) {
    return this.answer.has(name.toLowerCase())
  }
}

/** The status of a refusal (`Verdict`), or undefined when the request may go on. */
export function statusOf(verdict: unknown): number | undefined {
  return (verdict as { status?: number } | undefined)?.status
}
