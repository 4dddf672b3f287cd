import { afterAll, describe, expect, it } from 'vitest'
import { service } from '../../../packages/rampart/test/support/services.js'
import { startTcpProxy, type TcpProxy } from '../../../packages/rampart/test/support/tcp-proxy.js'
import { DEMO_PASSWORD, startAirlock, type TestAirlock } from './helpers.js'
import { apiToken, call, type Replica, startReplicas, until } from './replicas.js'

const redisUrl = service('REDIS_URL')

/** The Redis URL through the proxy. */
function through(proxy: TcpProxy): string {
  const u = new URL(redisUrl as string)
  u.hostname = '127.0.0.1'
  u.port = String(proxy.port)
  return u.toString()
}

/** POST with a JSON body from the client address `ip` (the replicas trust 127.0.0.1's XFF). */
function postFrom(r: Replica, ip: string, path: string, body: unknown, form = false) {
  return fetch(`${r.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'x-forwarded-for': ip,
      'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
    },
    body: form
      ? new URLSearchParams(body as Record<string, string>).toString()
      : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
}

describe.skipIf(!redisUrl)(
  'airlock replicas with the rate-limit store in Redis behind a proxy',
  () => {
    const proxies: TcpProxy[] = []
    const stops: Array<() => Promise<void>> = []
    afterAll(async () => {
      for (const stop of stops) await stop()
      for (const p of proxies) await p.close()
    })

    async function cluster(count: number, env: Record<string, string> = {}) {
      const target = new URL(redisUrl as string)
      const proxy = await startTcpProxy(Number(target.port || 6379), target.hostname)
      proxies.push(proxy)
      const started = startReplicas(count, {
        RATE_LIMIT_STORE: through(proxy),
        TRUSTED_PROXIES: '127.0.0.1',
        // A service name of its own: the replicas' Redis keys are apart from other runs'.
        OTEL_SERVICE_NAME: `airlock${Math.random().toString(36).slice(2, 10)}`,
        ...env,
      })
      return { proxy, started }
    }

    it('Redis cut, default settings: token and login POSTs answer 503 with Retry-After; reads pass', async () => {
      const { proxy, started } = await cluster(1)
      const { replicas, stop } = await started
      stops.push(stop)
      const r = replicas[0] as Replica
      const token = await apiToken(r, 'researcher')
      proxy.cut()
      const tokens = await postFrom(r, '203.0.113.10', '/api/v1/tokens', {
        username: 'researcher',
        password: DEMO_PASSWORD,
      })
      expect(tokens.status).toBe(503)
      expect(tokens.headers.get('retry-after')).toBe('5')
      expect((await tokens.json()) as object).toMatchObject({ status: 503 })
      const login = await postFrom(
        r,
        '203.0.113.10',
        '/login',
        { username: 'researcher', password: DEMO_PASSWORD },
        true,
      )
      expect(login.status).toBe(503)
      expect(login.headers.get('retry-after')).toBe('5')
      // Reads (the API list, the sign-in page) go on.
      expect((await call(`${r.url}/api/v1/requests`, token)).status).toBe(200)
      expect((await call(`${r.url}/login`, undefined)).status).toBe(200)
      proxy.restore()
      await until(async () => {
        const res = await postFrom(r, '203.0.113.11', '/api/v1/tokens', {
          username: 'researcher',
          password: DEMO_PASSWORD,
        })
        return res.status === 201
      }, 15_000)
    }, 60_000)

    it('Redis slowed, 3 replicas from cold under load: at most 10 of 10/min pass; past the deadline every credential check is refused 503', async () => {
      const { proxy, started } = await cluster(3, { RATE_LIMIT_STORE_TIMEOUT_MS: '400' })
      // Cold: the replicas meet a slow Redis from their first command.
      proxy.slow(150)
      const { replicas, stop } = await started
      stops.push(stop)
      let loading = true
      const reads: number[] = []
      // Load: three clients reading the sign-in page (a read policy) throughout.
      const load = Promise.all(
        [0, 1, 2].map(async (k) => {
          let i = k
          while (loading) {
            const r = replicas[i++ % 3] as Replica
            reads.push((await call(`${r.url}/login`, undefined)).status)
          }
        }),
      )
      const burst = (ip: string) =>
        Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            postFrom(replicas[i % 3] as Replica, ip, '/api/v1/tokens', {
              username: 'researcher',
              password: DEMO_PASSWORD,
            }).then(async (res) => {
              await res.arrayBuffer()
              return { status: res.status, retryAfter: res.headers.get('retry-after') }
            }),
          ),
        )
      // Replies 150 ms late, inside the 400 ms deadline: the shared budget decides.
      const within = await burst('203.0.113.20')
      const passed = within.filter((s) => s.status === 201).length
      expect(passed).toBeLessThanOrEqual(10)
      expect(passed).toBeGreaterThan(0)
      for (const s of within) expect([201, 429, 503]).toContain(s.status)
      // Replies 800 ms late, past the deadline: nothing passes, nothing hangs.
      proxy.slow(800)
      const late = await burst('203.0.113.21')
      expect(late.map((s) => s.status)).toEqual(Array(30).fill(503))
      expect(late.every((s) => s.retryAfter === '5')).toBe(true)
      loading = false
      await load
      // The sign-in page (a read policy) was served throughout.
      expect(reads.length).toBeGreaterThanOrEqual(3)
      expect(reads.every((s) => s === 200)).toBe(true)
      // The late answers were counted.
      await new Promise((r) => setTimeout(r, 1_000))
      const metrics = await Promise.all(replicas.map((r) => call(`${r.url}/metrics`, undefined)))
      const lateCount = metrics
        .flatMap((m) => m.text.split('\n'))
        .filter((l) => l.startsWith('rampart_ratelimit_late_answers_total{policy="auth"'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
      expect(lateCount).toBeGreaterThan(0)
    }, 90_000)
  },
)

describe('the brute-force budget of a credential route, against an attacker holding accounts', () => {
  let t: TestAirlock
  afterAll(async () => {
    await t?.close()
  })

  const attacker = '198.51.100.7'
  it('12 wrong passwords for admin from one address with the attacker’s own bearer tokens: the 11th is 429', async () => {
    t = await startAirlock('sqlite', { trustedProxies: ['127.0.0.1'] })
    // The attacker's own accounts, signed in from elsewhere.
    const tokenOf = async (username: string, ip: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { 'x-forwarded-for': ip },
        payload: { username, password: DEMO_PASSWORD },
      })
      return res.json<{ token: string }>().token
    }
    const tokens = [await tokenOf('researcher', '192.0.2.1'), await tokenOf('checker', '192.0.2.2')]
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { 'x-forwarded-for': attacker, authorization: `Bearer ${tokens[i % 2]}` },
        payload: { username: 'admin', password: `guess-${i}` },
      })
      statuses.push(res.statusCode)
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429])
  })

  it('… and with the attacker’s own session cookies on the sign-in form: the 11th is 429', async () => {
    const sessionOf = async (username: string, ip: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/login',
        headers: { 'x-forwarded-for': ip },
        payload: { username, password: DEMO_PASSWORD },
      })
      expect(res.statusCode).toBe(303)
      const cookie = String(res.headers['set-cookie']).split(';')[0] as string
      const requests = await t.app.inject({
        url: '/requests',
        headers: { cookie, 'x-forwarded-for': ip },
      })
      const csrf = /name="csrf_token" value="([^"]+)"/.exec(requests.body)?.[1] as string
      expect(csrf).toBeTruthy()
      return { cookie, csrf }
    }
    const sessions = [
      await sessionOf('researcher', '192.0.2.3'),
      await sessionOf('checker', '192.0.2.4'),
    ]
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      const s = sessions[i % 2] as { cookie: string; csrf: string }
      const res = await t.app.inject({
        method: 'POST',
        url: '/login',
        headers: { 'x-forwarded-for': '198.51.100.8', cookie: s.cookie },
        payload: { username: 'admin', password: `guess-${i}`, csrf_token: s.csrf },
      })
      statuses.push(res.statusCode)
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429])
  })
})
