import type { Redis, RedisOptions } from 'ioredis'
import { RampartError } from '../errors/rampart-error.js'
import type { Decision, Store, WindowSpec } from './store.js'

/**
 * The exact sliding-window log, in one script so that the check and the write are one atomic
 * step on the server and one round trip for the client (EVALSHA; ioredis falls back to EVAL
 * when the server does not hold the script yet). The log is a list of the millisecond
 * timestamps of the requests that passed, oldest first; only passes are recorded, so a list
 * never holds more than `limit` entries. Time comes from the Redis server (`TIME`), so every
 * replica agrees on it whatever its own clock says; tests may pass a time instead.
 *
 * KEYS[1] bucket; ARGV[1] limit; ARGV[2] window ms; ARGV[3] now ms, or '' for server time.
 * Returns { allowed (0|1), count in window, ms until the oldest entry leaves the window }.
 */
export const SLIDING_WINDOW_LUA = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local n = 0
local oldest = now
local newest = redis.call('LINDEX', key, -1)
if newest then
  newest = tonumber(newest)
  if newest > now then now = newest end
  local horizon = now - window
  n = redis.call('LLEN', key)
  oldest = tonumber(redis.call('LINDEX', key, 0))
  while oldest <= horizon do
    redis.call('LPOP', key)
    n = n - 1
    if n == 0 then
      oldest = now
      break
    end
    oldest = tonumber(redis.call('LINDEX', key, 0))
  end
end
if n < limit then
  redis.call('RPUSH', key, string.format('%d', now))
  redis.call('PEXPIRE', key, window)
  return { 1, n + 1, oldest + window - now }
end
return { 0, n, oldest + window - now }
`

/** Options of `createRedisStore`. */
export interface RedisStoreOptions {
  /** A `redis://` or `rediss://` URL. */
  url: string
  /** Prepended to every key. Default: `rampart:rl:`. */
  prefix?: string
  /** Milliseconds before a command counts as failed. Default: 500. */
  commandTimeoutMs?: number
  /**
   * How long start-up waits for the first connection, in ms. Past it the service starts
   * anyway and the store-error policy applies until Redis answers. Default: 2000.
   */
  connectWaitMs?: number
  /** Called with connection errors (the store never lets them crash the process). */
  onError?: (err: Error) => void
  /** Clock in milliseconds. Default: the Redis server's `TIME`. For tests only. */
  now?: () => number
  /** Extra ioredis options (merged over Rampart's). */
  redis?: RedisOptions
}

type RedisWithScript = Redis & {
  rampartSlidingWindow(key: string, limit: number, windowMs: number, now: string): Promise<unknown>
}

/** The Redis store plus the client it owns (exposed for tests and health checks). */
export interface RedisStore extends Store {
  readonly client: Redis
  shutdown(): Promise<void>
}

/**
 * A store in Redis that every replica shares; each decision is one atomic Lua script, one
 * round trip. ioredis is loaded only when this is called, so services without Redis do not
 * need it installed. Failures never crash the process: the offline queue is off (a command
 * while disconnected fails at once instead of piling up), commands time out, reconnects back
 * off up to one second, and `error` events go to `onError`.
 *
 * @example
 * const store = await createRedisStore({ url: 'redis://127.0.0.1:6379' })
 */
export async function createRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  let RedisCtor: typeof import('ioredis').Redis
  try {
    RedisCtor = (await import('ioredis')).Redis
  } catch (cause) {
    throw new RampartError(
      'ERR_RAMPART_STORE',
      'RATE_LIMIT_STORE: a redis:// URL needs the ioredis package; install it (npm install ioredis) or use RATE_LIMIT_STORE=memory',
      { cause },
    )
  }
  const prefix = options.prefix ?? 'rampart:rl:'
  const clock = options.now
  const client = new RedisCtor(options.url, {
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs ?? 500,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1000),
    lazyConnect: false,
    ...options.redis,
  }) as RedisWithScript
  const onError = options.onError ?? (() => {})
  client.on('error', onError)
  client.defineCommand('rampartSlidingWindow', { numberOfKeys: 1, lua: SLIDING_WINDOW_LUA })
  // Give the first connection a moment so the first requests are counted, but never hold
  // start-up hostage to Redis: a service must boot (and obey onStoreError) while it is down.
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      client.off('ready', done)
      resolve()
    }
    const timer = setTimeout(done, options.connectWaitMs ?? 2000)
    timer.unref()
    if (client.status === 'ready') done()
    else client.once('ready', done)
  })

  return {
    client,
    async increment(key: string, spec: WindowSpec): Promise<Decision> {
      const reply = (await client.rampartSlidingWindow(
        prefix + key,
        spec.limit,
        spec.windowMs,
        clock ? String(Math.floor(clock())) : '',
      )) as [number, number, number]
      const [allowed, count, resetMs] = reply
      return {
        allowed: allowed === 1,
        remaining: Math.max(0, spec.limit - count),
        resetMs: Math.max(0, resetMs),
      }
    },
    async reset(key: string): Promise<void> {
      await client.del(prefix + key)
    },
    async shutdown(): Promise<void> {
      client.off('error', onError)
      client.on('error', () => {})
      try {
        await client.quit()
      } catch {
        client.disconnect()
      }
    },
  }
}
