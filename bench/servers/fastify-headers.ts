// Bare Fastify plus the six headers Rampart's defaults put on a JSON answer (`X-Request-Id` and
// the JSON security set), written the way BENCH_HEADERS names, to measure which way Node and
// Fastify take them cheapest (issue 24, "response headers"; results in docs/benchmarks.md):
//   none            no headers (the hook alone)
//   reply-headers   `reply.headers(block)` in `onRequest` (Rampart's way on Fastify)
//   raw-set-header  `reply.raw.setHeader(name, value)` for each
//   raw-set-headers `reply.raw.setHeaders(map)` (Node's batch call)
//   write-head      appended as a flat array to the `writeHead` call Fastify makes
import type { ServerResponse } from 'node:http'
import Fastify from 'fastify'
import { jsonRoutes } from './routes.js'

const BLOCK: Readonly<Record<string, string>> = {
  'x-request-id': '0b7e7c1e-4f1d-4c5e-9a44-2f0c8e0f6b21',
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
}
const PAIRS = Object.entries(BLOCK)
const FLAT = PAIRS.flat()
const MAP = new Map(PAIRS)
type WriteHead = (this: ServerResponse, status: number, headers?: unknown) => ServerResponse
export default async function build() {
  const mode = process.env.BENCH_HEADERS ?? 'reply-headers'
  const app = Fastify({ logger: false })
  // Node's own `writeHead`, read from the first response (every response shares it).
  let original: WriteHead | undefined
  function withBlock(this: ServerResponse, status: number, headers?: unknown): ServerResponse {
    const flat: string[] = []
    for (const [k, v] of Object.entries((headers ?? {}) as Record<string, string>))
      flat.push(k, String(v))
    flat.push(...FLAT)
    return (original as WriteHead).call(this, status, flat)
  }
  app.addHook('onRequest', (_request, reply, done) => {
    if (mode === 'reply-headers') reply.headers(BLOCK)
    else if (mode === 'raw-set-header') for (const [k, v] of PAIRS) reply.raw.setHeader(k, v)
    else if (mode === 'raw-set-headers') reply.raw.setHeaders(MAP)
    else if (mode === 'write-head') {
      original ??= reply.raw.writeHead as unknown as WriteHead
      ;(reply.raw as unknown as { writeHead: WriteHead }).writeHead = withBlock
    }
    done()
  })
  jsonRoutes(app)
  return app
}
