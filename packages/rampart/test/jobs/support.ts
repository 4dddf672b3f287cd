import { randomBytes } from 'node:crypto'

/** A Redis key prefix of this test run's own: the Redis server is shared. */
export function uniquePrefix(): string {
  return `rampart-test-${randomBytes(5).toString('hex')}`
}

/** Polls `check` every 50 ms until it returns a value other than undefined, or fails. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`${what} not reached in ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A series' value in Prometheus text (`name{a="b"}`), labels in any order; undefined if absent. */
export function seriesValue(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const close = line.indexOf('}')
    const body = line.slice(name.length + 1, close)
    const have = Object.fromEntries(
      [...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    )
    if (
      Object.entries(labels).every(([k, v]) => have[k] === v) &&
      Object.keys(have).length === Object.keys(labels).length
    )
      return Number(line.slice(close + 2).split(' ')[0])
  }
  return undefined
}

/** Deletes every key under `prefix` (this test run's own) from the shared Redis. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}
