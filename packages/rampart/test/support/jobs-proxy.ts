import { connect, createServer, type Server, type Socket } from 'node:net'

/** A TCP proxy in front of a real server, for cutting the connection without touching it. */
export interface JobsProxy {
  /** `host:port` clients should dial instead of the server. */
  readonly address: string
  readonly port: number
  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void
  /** Accepts and forwards connections again. */
  restore(): void
  close(): Promise<void>
}

/** Starts a proxy on 127.0.0.1 forwarding to `target` (`host:port`). */
export async function startJobsProxy(target: string): Promise<JobsProxy> {
  const [host, portText] = target.split(':') as [string, string]
  const sockets = new Set<Socket>()
  let open = true
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = connect(Number(portText), host)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    address: `127.0.0.1:${port}`,
    port,
    cut() {
      open = false
      for (const s of sockets) s.destroy()
    },
    restore() {
      open = true
    },
    close() {
      open = false
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
