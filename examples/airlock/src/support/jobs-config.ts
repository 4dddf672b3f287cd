import { RampartError } from 'rampart'

/** Where airlock's background jobs run, from the environment. */
export interface JobsConfig {
  /** `REDIS_URL`: BullMQ on Redis when set; the in-process queue otherwise. */
  redisUrl: string | undefined
  /** `AIRLOCK_WORKER`: `on` (default) runs the scan worker in the web process; `off` leaves it to `npm run worker`. */
  worker: boolean
  /** `QUEUE_PREFIX`: namespaces the queue's Redis keys. Default `airlock`. */
  prefix: string
  /** `WORKER_PORT`: `/metrics`, `/healthz`, `/readyz` of `npm run worker`. Default 3001. */
  workerPort: number
}

const fail = (name: string, value: string, expected: string) =>
  new RampartError('ERR_RAMPART_CONFIG', `${name}: got "${value}"; expected ${expected}`)

/** Reads and checks the job variables; throws one line naming the bad one. */
export function jobsConfig(env: NodeJS.ProcessEnv): JobsConfig {
  const redisUrl = env.REDIS_URL || undefined
  if (redisUrl !== undefined && !/^rediss?:\/\/.+/.test(redisUrl))
    throw fail(
      'REDIS_URL',
      redisUrl.replace(/\/\/[^@/]*@/, '//***@'),
      'a redis:// or rediss:// URL',
    )
  const worker = (env.AIRLOCK_WORKER || 'on').toLowerCase()
  if (worker !== 'on' && worker !== 'off') throw fail('AIRLOCK_WORKER', worker, 'on or off')
  if (worker === 'off' && redisUrl === undefined)
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      'AIRLOCK_WORKER: got "off" without REDIS_URL; a separate worker needs Redis to share the queue (set REDIS_URL, or leave AIRLOCK_WORKER unset)',
    )
  const prefix = env.QUEUE_PREFIX || 'airlock'
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix))
    throw fail('QUEUE_PREFIX', prefix, '1-64 letters, digits, "_", "." or "-"')
  const portText = env.WORKER_PORT || '3001'
  const workerPort = Number(portText)
  if (!/^\d+$/.test(portText) || workerPort > 65_535)
    throw fail('WORKER_PORT', portText, 'a port number 0-65535')
  return { redisUrl, worker: worker === 'on', prefix, workerPort }
}
