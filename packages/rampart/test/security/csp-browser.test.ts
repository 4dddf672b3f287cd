import Fastify, { type FastifyInstance } from 'fastify'
import type { Browser } from 'playwright-core'
import rampart, { HttpError } from 'rampart/fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.js'
import { service } from '../support/services.js'

const chromiumPath = service('CHROMIUM_PATH')

describe.skipIf(!chromiumPath)('CSP in a real browser', () => {
  let app: FastifyInstance
  let browser: Browser
  let base: string
  beforeAll(async () => {
    app = Fastify()
    await app.register(rampart, { logLevel: 'silent' })
    app.get('/limited', async () => {
      throw new HttpError(429, { headers: { 'retry-after': '5' } })
    })
    // A page that breaks the policy, to show the browser does enforce it here.
    app.get('/inline', async (_r, reply) =>
      reply
        .type('text/html')
        .send('<!doctype html><style>body{color:rgb(1, 2, 3)}</style><p>x</p>'),
    )
    base = await app.listen({ port: 0, host: '127.0.0.1' })
    browser = await launchChromium(chromiumPath)
  })
  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  async function visit(path: string) {
    const page = await browser.newPage()
    const violations: string[] = []
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
    })
    await page.goto(`${base}${path}`)
    const color = await page.evaluate(() => getComputedStyle(document.body).color)
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
    await page.close()
    return { violations, color, background }
  }

  it('error pages render with their style and no CSP violation', async () => {
    for (const path of ['/nowhere', '/limited']) {
      const { violations, background } = await visit(path)
      expect(violations, path).toEqual([])
      expect(background, path).toBe('rgb(246, 247, 249)')
    }
  })

  it('the ops console renders with its same-origin stylesheet and no CSP violation', async () => {
    await fetch(`${base}/nowhere`)
    const { violations, background } = await visit('/_rampart')
    expect(violations).toEqual([])
    expect(background).toBe('rgb(246, 247, 249)')
  })

  it('an inline style without the hash is blocked (the policy is live)', async () => {
    const { violations, color } = await visit('/inline')
    expect(violations.length).toBeGreaterThan(0)
    expect(color).not.toBe('rgb(1, 2, 3)')
  })
})
