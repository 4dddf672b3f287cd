import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../../../packages/rampart/test/support/browser.js'
import { service } from '../../../packages/rampart/test/support/services.js'
import { DATABASES, DEMO_PASSWORD, startAirlock, type TestAirlock } from './helpers.js'

const chromiumPath = service('CHROMIUM_PATH')
const ARTIFACTS = new URL('../../../test-artifacts/airlock/', import.meta.url).pathname

/** Every form on the page carries the CSRF token (multipart forms in the action's query). */
async function expectCsrfInEveryForm(page: Page): Promise<number> {
  const forms = await page.$$eval('form', (els) =>
    els.map((f) => ({
      action: f.getAttribute('action') ?? '',
      multipart: f.getAttribute('enctype') === 'multipart/form-data',
      field: f.querySelector('input[name="csrf_token"]')?.getAttribute('value') ?? '',
    })),
  )
  for (const form of forms) {
    expect(form.field, `csrf_token field in form ${form.action}`).toMatch(/^[A-Za-z0-9_.:-]{16,}$/)
    if (form.multipart)
      expect(form.action).toContain(`csrf_token=${encodeURIComponent(form.field)}`)
  }
  return forms.length
}

for (const { name, url } of DATABASES)
  describe.skipIf(!chromiumPath || !url)(`airlock in Chromium on ${name}`, () => {
    let t: TestAirlock
    let base: string
    let browser: Browser
    beforeAll(async () => {
      t = await startAirlock(url)
      base = await t.app.listen({ port: 0, host: '127.0.0.1' })
      browser = await launchChromium(chromiumPath)
      mkdirSync(ARTIFACTS, { recursive: true })
    })
    afterAll(async () => {
      await browser?.close()
      await t?.close()
    })

    // Every page the walk-through shows is screenshotted, and every form on it carries the
    // CSRF token (the steps below also assert how many forms each page has).
    async function shot(page: Page, step: string): Promise<void> {
      await expectCsrfInEveryForm(page)
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${step}.png`), fullPage: true })
    }

    async function signIn(page: Page, username: string): Promise<void> {
      await page.goto(`${base}/login`)
      expect(await expectCsrfInEveryForm(page)).toBe(1)
      await page.fill('input[name=username]', username)
      await page.fill('input[name=password]', DEMO_PASSWORD)
      await Promise.all([page.waitForURL(`${base}/requests`), page.click('button[type=submit]')])
    }

    it('researcher creates, uploads and submits; checker approves', async () => {
      const researcher = await browser.newContext()
      const page = await researcher.newPage()
      await page.goto(`${base}/login`)
      await shot(page, '01-login')
      await signIn(page, 'researcher')
      const cookie = (await researcher.cookies()).find((c) => c.name === 'airlock_session')
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false })
      expect(await expectCsrfInEveryForm(page)).toBe(1) // sign-out
      await shot(page, '02-requests-empty')

      await page.click('text=New request')
      await page.waitForURL(`${base}/requests/new`)
      expect(await expectCsrfInEveryForm(page)).toBe(2)
      // A bad form comes back 422 with the field errors shown next to the fields.
      const bad = await Promise.all([
        page.waitForResponse(
          (r) => r.url() === `${base}/requests` && r.request().method() === 'POST',
        ),
        page.click('form[action="/requests"] button[type=submit]'),
      ])
      expect(bad[0].status()).toBe(422)
      expect(await page.locator('.field-error').count()).toBe(2)
      await shot(page, '03-new-request-errors')
      await page.fill('input[name=title]', 'Survival model outputs')
      await page.check('input[value=egress]')
      await page.fill('textarea[name=justification]', 'Tables 1-3 for the paper; cell counts ≥ 10.')
      await shot(page, '04-new-request')
      await Promise.all([
        page.waitForURL(/\/requests\/[0-9a-f-]{36}$/),
        page.click('form[action="/requests"] button[type=submit]'),
      ])
      const requestUrl = page.url()
      expect(await expectCsrfInEveryForm(page)).toBe(3) // sign-out, upload, submit

      const upload = join(t.dataDir, 'table1.csv')
      writeFileSync(upload, 'stratum,n,hr\nA,12,1.2\nB,40,0.8\n')
      await page.setInputFiles('input[type=file]', upload)
      await Promise.all([page.waitForURL(requestUrl), page.click('text=Upload')])
      await expect.poll(() => page.locator('td', { hasText: 'table1.csv' }).count()).toBe(1)
      // A table with a small count: the output check (a background job) flags it.
      const counts = join(t.dataDir, 'counts.csv')
      writeFileSync(counts, 'stratum,n\nA,3\nB,25\n')
      await page.setInputFiles('input[type=file]', counts)
      await Promise.all([page.waitForURL(requestUrl), page.click('text=Upload')])
      await expect
        .poll(async () => {
          await page.reload()
          return page.locator('span.scan-pending').count()
        })
        .toBe(0)
      expect(await page.textContent('tr.scan-clean td:first-child')).toBe('table1.csv')
      expect(await page.textContent('tr.scan-flagged td:first-child')).toBe('counts.csv')
      expect(await page.textContent('tr.scan-flagged .findings li')).toBe('row 2, n: 3')
      await shot(page, '05-request-with-file')
      await Promise.all([page.waitForURL(requestUrl), page.click('text=Submit for checking')])
      expect(await page.textContent('.heading .status')).toBe('submitted')
      expect(await expectCsrfInEveryForm(page)).toBe(1)
      await shot(page, '06-request-submitted')
      await researcher.close()

      const checker = await browser.newContext()
      const cpage = await checker.newPage()
      await signIn(cpage, 'checker')
      expect(await cpage.locator('td a', { hasText: 'Survival model outputs' }).count()).toBe(1)
      await shot(cpage, '07-checker-requests')
      await cpage.goto(requestUrl)
      expect(await expectCsrfInEveryForm(cpage)).toBe(3) // sign-out, approve, reject
      // The checker sees the flagged file before deciding: a warning and a highlighted row.
      expect(await cpage.textContent('.decide .scan-warning')).toContain('1 file is flagged')
      const highlight = await cpage.$eval(
        'tr.scan-flagged td',
        (td) =>
          // Runs in the page; the test's own types have no DOM.
          (
            globalThis as unknown as {
              getComputedStyle(e: unknown): { backgroundColor: string }
            }
          ).getComputedStyle(td).backgroundColor,
      )
      expect(highlight).toBe('rgb(253, 236, 234)')
      await shot(cpage, '08-checker-decision')
      await Promise.all([
        cpage.waitForURL(requestUrl),
        cpage.click('form[action$="/approve"] button[type=submit]'),
      ])
      expect(await cpage.textContent('.heading .status')).toBe('approved')
      await shot(cpage, '09-approved')

      // The form post without a CSRF token is refused even with a valid session cookie.
      const forged = await cpage.request.post(`${requestUrl}/reject`, {
        form: { reason: 'forged' },
        maxRedirects: 0,
      })
      expect(forged.status()).toBe(403)
      await checker.close()

      const id = requestUrl.split('/').at(-1) as string
      const row = await t.app.airlock.db
        .selectFrom('requests')
        .select(['status', 'decision_reason'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      expect(row).toEqual({ status: 'approved', decision_reason: 'Checked: no disclosure risk.' })
    })

    it('admin sees the user list and adds a user through the form', async () => {
      const ctx = await browser.newContext()
      const page = await ctx.newPage()
      await signIn(page, 'admin')
      await page.click('text=Users')
      await page.waitForURL(`${base}/admin/users`)
      expect(await expectCsrfInEveryForm(page)).toBe(2)
      await page.fill('form[action="/admin/users"] input[name=username]', 'rosalind')
      await page.fill('form[action="/admin/users"] input[name=password]', 'a-long-password-1')
      await page.selectOption('select[name=role]', 'checker')
      await Promise.all([
        page.waitForURL(`${base}/admin/users`),
        page.click('form[action="/admin/users"] button[type=submit]'),
      ])
      expect(await page.locator('td', { hasText: 'rosalind' }).count()).toBe(1)
      await shot(page, '10-admin-users')
      await ctx.close()
    })

    it('the ops console shows the workflow’s traffic and airlock’s SLOs', async () => {
      const page = await browser.newPage()
      const violations: string[] = []
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
      })
      await page.goto(`${base}/_rampart`)
      expect(await page.textContent('h1')).toBe('airlock')
      expect(await page.locator('td', { hasText: 'login-latency' }).count()).toBe(1)
      expect(await page.locator('code', { hasText: '/requests/:id' }).count()).toBeGreaterThan(0)
      expect(violations).toEqual([])
      await shot(page, '11-ops-console')
      await page.close()
    })
  })
