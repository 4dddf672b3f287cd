import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy of the tests' own in front of a real server (PostgreSQL, Redis), for fault
 * injection without touching the shared server:
 *
 * - `cut()`: every open connection is reset and new ones are refused (closed at once) until
 *   `restore()`: a crash, a failover, a network partition that the client notices.
 * - `freeze()`: connections stay open and new ones are accepted, but no byte goes either way
 *   until `restore()` (bytes are held, then delivered): a hung server or a silent partition.
 * - `slow(ms)`: every reply from the server is held back `ms` before it reaches the client
 *   (order kept): a server that answers, late.
 *
 * @example
 * const proxy = await startTcpProxy(6379)
 * const url = `redis://127.0.0.1:${proxy.port}`
 * proxy.cut(); ...; proxy.restore()
 */
export interface TcpProxy {
  readonly port: number
  /** Connections accepted since start. */
  readonly accepted: number
  cut(): void
  freeze(): void
  slow(ms: number): void
  restore(): void
  close(): Promise<void>
}

interface Pair {
  client: Socket
  upstream: Socket
  /** Bytes held while frozen: [direction, chunk]. */
  held: Array<['up' | 'down', Buffer]>
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `targetPort` on `targetHost`. */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  let mode: 'open' | 'cut' | 'frozen' = 'open'
  let delayMs = 0
  let accepted = 0
  const pairs = new Set<Pair>()

  const deliver = (pair: Pair, direction: 'up' | 'down', chunk: Buffer): void => {
    const to = direction === 'up' ? pair.upstream : pair.client
    if (!to.destroyed) to.write(chunk)
  }
  const forward = (pair: Pair, direction: 'up' | 'down', chunk: Buffer): void => {
    if (mode === 'frozen' || pair.held.length > 0) {
      pair.held.push([direction, chunk])
      return
    }
    if (direction === 'down' && delayMs > 0) {
      // Kept in order: every later chunk waits behind this one (same delay, FIFO timers).
      setTimeout(() => deliver(pair, direction, chunk), delayMs)
      return
    }
    deliver(pair, direction, chunk)
  }

  const server: Server = createServer((client) => {
    accepted++
    if (mode === 'cut') {
      client.resetAndDestroy()
      return
    }
    const upstream = connect(targetPort, targetHost)
    const pair: Pair = { client, upstream, held: [] }
    pairs.add(pair)
    const drop = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (c: Buffer) => forward(pair, 'up', c))
    upstream.on('data', (c: Buffer) => forward(pair, 'down', c))
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }

  return {
    port,
    get accepted() {
      return accepted
    },
    cut() {
      mode = 'cut'
      for (const pair of pairs) {
        pair.client.resetAndDestroy()
        pair.upstream.destroy()
      }
      pairs.clear()
    },
    freeze() {
      mode = 'frozen'
    },
    slow(ms: number) {
      delayMs = ms
    },
    restore() {
      mode = 'open'
      delayMs = 0
      for (const pair of pairs) {
        const held = pair.held
        pair.held = []
        for (const [direction, chunk] of held) deliver(pair, direction, chunk)
      }
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream.destroy()
      }
      pairs.clear()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
