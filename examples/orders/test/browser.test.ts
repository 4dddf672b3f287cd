import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../../../packages/rampart/test/support/browser.js'
import { service } from '../../../packages/rampart/test/support/services.js'
import { logLines, type Service, start, stopAll, tempDir } from './service.js'

const chromiumPath = service('CHROMIUM_PATH')

describe.skipIf(!chromiumPath)('orders in Chromium', () => {
  let svc: Service
  let browser: Browser
  beforeAll(async () => {
    svc = await start({ NODE_ENV: 'test', DATA_DIR: tempDir('orders-browser-') })
    browser = await launchChromium(chromiumPath)
  })
  afterAll(async () => {
    await browser?.close()
    await stopAll()
  })

  it('the form places an order: session cookie, CSRF token, 201 page', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const form = await page.goto(`${svc.url}/`)
    expect(form?.status()).toBe(200)
    const [cookie] = await context.cookies()
    expect(cookie).toMatchObject({ name: 'orders_session', httpOnly: true, sameSite: 'Lax' })

    await page.fill('input[name=item]', 'kukicha')
    await page.fill('input[name=qty]', '3')
    const [answer] = await Promise.all([
      page.waitForResponse(
        (r) => r.url() === `${svc.url}/orders` && r.request().method() === 'POST',
      ),
      page.click('button[type=submit]'),
    ])
    expect(answer.status()).toBe(201)
    await expect.poll(() => page.textContent('h1')).toMatch(/^Order \d+ placed$/)
    expect(await page.textContent('p')).toContain('3 × kukicha')

    // The same form, its token altered in the page: refused, and the browser shows a page.
    await page.goto(`${svc.url}/`)
    await page.$eval('input[name=csrf_token]', (el) => el.setAttribute('value', 'forged'))
    await page.fill('input[name=item]', 'kukicha')
    const [refused] = await Promise.all([
      page.waitForResponse(
        (r) => r.url() === `${svc.url}/orders` && r.request().method() === 'POST',
      ),
      page.click('button[type=submit]'),
    ])
    expect(refused.status()).toBe(403)
    expect(refused.headers()['content-type']).toMatch(/^text\/html/)
    await expect
      .poll(() =>
        logLines(svc).some((l) => l.event === 'security.csrf_blocked' && l.reason === 'malformed'),
      )
      .toBe(true)
    await context.close()
  })
})
