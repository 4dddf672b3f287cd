import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

interface S3rverInstance {
  run(): Promise<{ port: number }>
  close(): Promise<void>
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance

/**
 * A real S3-compatible server (s3rver, from npm) on 127.0.0.1 with one bucket, storing objects
 * in a temporary folder; `env` holds the standard AWS variables that point the CLI at it.
 */
export async function startS3(bucket: string): Promise<{
  port: number
  env: Record<string, string>
  close: () => Promise<void>
}> {
  const S3rver = (await import('s3rver')).default as unknown as S3rverCtor
  const dir = mkdtempSync(join(tmpdir(), 'rampart-s3-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  })
  const { port } = await server.run()
  return {
    port,
    env: s3Env(port),
    close: async () => {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The AWS variables for an S3-compatible endpoint on this port (s3rver's fixed test keys). */
export function s3Env(port: number): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
  }
}

/**
 * An HTTP proxy of the test's own in front of the S3 server: requests for which `cut` says so
 * get their connection destroyed once part of the body has arrived (an upload cut mid-way);
 * the rest are passed through, after `delay(req)` ms (a slow link).
 */
export async function faultyProxy(
  targetPort: number,
  cut: (req: IncomingMessage) => boolean,
  delay: (req: IncomingMessage) => number = () => 0,
): Promise<{ port: number; cuts: number; close: () => Promise<void> }> {
  const state = { cuts: 0 }
  const server: Server = createServer(async (req, res) => {
    if (cut(req)) {
      state.cuts++
      req.once('data', () => req.socket.destroy())
      req.once('end', () => req.socket.destroy())
      return
    }
    const wait = delay(req)
    if (wait > 0) {
      req.pause()
      await new Promise((r) => setTimeout(r, wait))
    }
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    port,
    get cuts() {
      return state.cuts
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
