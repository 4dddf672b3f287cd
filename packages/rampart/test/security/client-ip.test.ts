import Fastify, { type FastifyInstance } from 'fastify'
import rampart, { type RampartFastifyOptions } from 'rampart/fastify'
import { createClientIpResolver } from 'rampart/internal'
import { afterEach, describe, expect, it } from 'vitest'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function build(options: RampartFastifyOptions = {}) {
  const app = Fastify()
  apps.push(app)
  await app.register(rampart, { logLevel: 'silent', ...options })
  app.get('/ip', async (request) => ({ ip: request.rampartContext.clientIp }))
  return app
}

async function ipOf(app: FastifyInstance, remoteAddress: string, xff?: string) {
  const res = await app.inject({
    url: '/ip',
    remoteAddress,
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  })
  return res.json().ip as string
}

describe('client IP', () => {
  it('without trusted proxies a spoofed X-Forwarded-For changes nothing', async () => {
    const app = await build({ trustedProxies: [] })
    expect(await ipOf(app, '127.0.0.1', '6.6.6.6')).toBe('127.0.0.1')
    expect(await ipOf(app, '203.0.113.5', '10.0.0.1, 6.6.6.6')).toBe('203.0.113.5')
  })

  it('with TRUSTED_PROXIES=127.0.0.1/32 the right-most untrusted address is the client', async () => {
    const app = await build({ trustedProxies: ['127.0.0.1/32'] })
    expect(await ipOf(app, '127.0.0.1', '6.6.6.6, 198.51.100.7')).toBe('198.51.100.7')
    expect(await ipOf(app, '127.0.0.1', '198.51.100.7, 127.0.0.1')).toBe('198.51.100.7')
    expect(await ipOf(app, '::ffff:127.0.0.1', '198.51.100.7')).toBe('198.51.100.7')
    // An untrusted peer's header is ignored.
    expect(await ipOf(app, '203.0.113.5', '198.51.100.7')).toBe('203.0.113.5')
    // Garbage stops the walk at the proxy that forwarded it.
    expect(await ipOf(app, '127.0.0.1', '198.51.100.7, <script>')).toBe('127.0.0.1')
    expect(await ipOf(app, '127.0.0.1')).toBe('127.0.0.1')
  })

  it('from the environment too', async () => {
    const before = process.env.TRUSTED_PROXIES
    process.env.TRUSTED_PROXIES = '127.0.0.1/32'
    try {
      const app = await build()
      expect(await ipOf(app, '127.0.0.1', '192.0.2.1')).toBe('192.0.2.1')
    } finally {
      if (before === undefined) delete process.env.TRUSTED_PROXIES
      else process.env.TRUSTED_PROXIES = before
    }
  })

  it('walks several trusted hops, IPv6 included', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8', '2001:db8::/32'])
    expect(resolve('10.1.2.3', '192.0.2.1, 10.9.9.9, 2001:db8::1')).toBe('192.0.2.1')
    expect(resolve('10.1.2.3', ['192.0.2.1', '10.9.9.9'])).toBe('192.0.2.1')
    expect(resolve('10.1.2.3', '10.4.4.4, 10.5.5.5')).toBe('10.4.4.4')
    expect(resolve('2001:db8::9', '2001:DB8::1, 2a00::1')).toBe('2a00::1')
  })
})
