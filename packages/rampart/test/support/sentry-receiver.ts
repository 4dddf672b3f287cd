import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

/**
 * A local Sentry ingest endpoint for tests: accepts `POST /api/<project>/envelope/`, keeps every
 * raw envelope (decompressed) to search for canaries, and parses the items itself (envelope =
 * header line, then per item a header line and a payload, sized by `length` when given), so the
 * test does not trust the SDK's serializer to check the SDK.
 */
export interface EnvelopeItem {
  header: Record<string, unknown>
  payload: unknown
}

export interface Envelope {
  header: Record<string, unknown>
  items: EnvelopeItem[]
}

/** The fields of a Sentry error event the tests read. */
export interface SentryEvent {
  event_id?: string
  tags?: Record<string, string>
  user?: Record<string, unknown>
  contexts?: { trace?: { trace_id?: string; span_id?: string } } & Record<string, unknown>
  exception?: { values?: Array<{ type?: string; value?: string }> }
  environment?: string
  release?: string
  transaction?: string
  [key: string]: unknown
}

export interface SentryReceiver {
  /** The DSN that sends here (`http://<key>@127.0.0.1:<port>/1`). */
  readonly dsn: string
  readonly envelopes: Envelope[]
  /** Every envelope as received, decompressed: the text canaries are searched in. */
  raw(): string
  /** The error events received so far. */
  events(): SentryEvent[]
  /** Milliseconds to hold each envelope before answering (a hung or slow endpoint). */
  delayMs: number
  /** Waits until at least `count` events arrived, or fails after `timeoutMs`. */
  waitForEvents(count: number, timeoutMs?: number): Promise<SentryEvent[]>
  /** Stops listening (later sends are refused); answers still held are dropped. */
  close(): Promise<void>
}

/** Parses one envelope body (`\n`-separated, payload lengths in bytes). */
export function parseEnvelope(body: Buffer): Envelope {
  let at = 0
  const line = (): Buffer => {
    const end = body.indexOf(0x0a, at)
    const stop = end === -1 ? body.length : end
    const out = body.subarray(at, stop)
    at = stop + 1
    return out
  }
  const header = JSON.parse(line().toString('utf8')) as Record<string, unknown>
  const items: EnvelopeItem[] = []
  while (at < body.length) {
    const head = line()
    if (head.length === 0) continue
    const itemHeader = JSON.parse(head.toString('utf8')) as Record<string, unknown>
    let payload: Buffer
    if (typeof itemHeader.length === 'number') {
      payload = body.subarray(at, at + itemHeader.length)
      at += itemHeader.length + 1
    } else payload = line()
    const text = payload.toString('utf8')
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    items.push({ header: itemHeader, payload: parsed })
  }
  return { header, items }
}

export async function startSentryReceiver(): Promise<SentryReceiver> {
  const envelopes: Envelope[] = []
  const raws: string[] = []
  const state = { delayMs: 0 }
  const held = new Set<NodeJS.Timeout>()
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      const answer = () => {
        if (req.method !== 'POST' || !/^\/api\/\d+\/envelope\/?(\?|$)/.test(req.url ?? '')) {
          res.writeHead(404).end()
          return
        }
        // The URL (query carries the public key) is part of what left the process too.
        raws.push(`${req.url}\n${JSON.stringify(req.headers)}\n${body.toString('utf8')}`)
        envelopes.push(parseEnvelope(body))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      }
      if (state.delayMs <= 0) return answer()
      const timer = setTimeout(() => {
        held.delete(timer)
        answer()
      }, state.delayMs)
      held.add(timer)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const events = () =>
    envelopes.flatMap((e) =>
      e.items.filter((i) => i.header.type === 'event').map((i) => i.payload as SentryEvent),
    )
  return {
    dsn: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${port}/1`,
    envelopes,
    raw: () => raws.join('\n'),
    events,
    get delayMs() {
      return state.delayMs
    },
    set delayMs(v: number) {
      state.delayMs = v
    },
    async waitForEvents(count, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs
      while (events().length < count) {
        if (Date.now() > until)
          throw new Error(
            `Sentry receiver: ${events().length} of ${count} events in ${timeoutMs} ms`,
          )
        await new Promise((r) => setTimeout(r, 20))
      }
      return events()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of held) clearTimeout(t)
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
