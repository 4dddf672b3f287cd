import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Browser } from 'playwright-core'
import rampart from 'rampart/fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { launchChromium } from '../support/browser.js'
import { service } from '../support/services.js'

const chromiumPath = service('CHROMIUM_PATH')
/** Screenshots land in the repository's test-artifacts/ (git-ignored) for a person to look at. */
const ARTIFACTS = new URL('../../../../test-artifacts/console/', import.meta.url).pathname

/** Width of a PNG, from its IHDR chunk. */
const pngWidth = (png: Buffer) => png.readUInt32BE(16)

describe.skipIf(!chromiumPath)('the ops console in Chromium', () => {
  let app: FastifyInstance
  let browser: Browser
  let base: string

  beforeAll(async () => {
    // Eight minutes of traffic, sampled by the console's own 10 s timer on a fake clock that
    // ends now, so the charts have a shape: a ramp of requests, a burst of 5xx, a slow spell.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    vi.setSystemTime(Date.now() - 8 * 60_000)
    app = Fastify()
    await app.register(rampart, { service: 'orders', logLevel: 'silent' })
    let delay = 0
    app.get('/items/:id', async () => {
      if (delay > 0) await new Promise((r) => setTimeout(r, delay))
      return { ok: true }
    })
    app.get('/boom', async () => {
      throw new Error('down')
    })
    await app.ready()
    for (let i = 0; i < 48; i++) {
      delay = i >= 30 && i < 36 ? 30 : 0
      const requests = 5 + (i % 12)
      await Promise.all(
        Array.from({ length: requests }, (_, k) => app.inject({ url: `/items/${k}` })),
      )
      if (i >= 20 && i < 26) await app.inject({ url: '/boom' })
      await vi.advanceTimersByTimeAsync(10_000)
    }
    vi.useRealTimers()
    base = await app.listen({ port: 0, host: '127.0.0.1' })
    browser = await launchChromium(chromiumPath)
    mkdirSync(ARTIFACTS, { recursive: true })
  })
  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  for (const width of [390, 1280])
    it(`at ${width} px: three charts with lines, no horizontal scroll, no CSP violation; the screenshot reads back`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 } })
      const violations: string[] = []
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
      })
      await page.goto(`${base}/_rampart`)
      const charts = await page.$$eval('figure.chart svg', (svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect()
          return {
            width: box.width,
            lines: svg.querySelectorAll('polyline').length,
            label: svg.getAttribute('aria-label') ?? '',
          }
        }),
      )
      expect(charts).toHaveLength(3)
      for (const c of charts) {
        expect(c.lines, c.label).toBeGreaterThan(0)
        expect(c.width, c.label).toBeGreaterThan(200)
      }
      const scroll = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      }))
      expect(scroll.scrollWidth).toBeLessThanOrEqual(scroll.innerWidth)
      expect(violations).toEqual([])

      const file = join(ARTIFACTS, `console-${width}.png`)
      await page.screenshot({ path: file, fullPage: true })
      expect(existsSync(file)).toBe(true)
      const png = readFileSync(file)
      expect(png.subarray(1, 4).toString()).toBe('PNG')
      expect(pngWidth(png)).toBe(width)
      // Decode it in the browser and look for the request chart's blue: the charts are in the
      // picture, not just in the DOM.
      const pixels = await page.evaluate(
        async (dataUrl) => {
          const img = new Image()
          img.src = dataUrl
          await img.decode()
          const canvas = document.createElement('canvas')
          canvas.width = img.width
          canvas.height = img.height
          const ctx = canvas.getContext('2d') as CanvasRenderingContext2D
          ctx.drawImage(img, 0, 0)
          const data = ctx.getImageData(0, 0, img.width, img.height).data
          const colours = new Set<number>()
          let blue = 0
          for (let i = 0; i < data.length; i += 4) {
            const [r, g, b] = [data[i] as number, data[i + 1] as number, data[i + 2] as number]
            colours.add((r << 16) | (g << 8) | b)
            if (Math.abs(r - 0x2f) < 24 && Math.abs(g - 0x6f) < 24 && Math.abs(b - 0xeb) < 24)
              blue++
          }
          return { colours: colours.size, blue }
        },
        `data:image/png;base64,${png.toString('base64')}`,
      )
      expect(pixels.colours).toBeGreaterThan(50)
      expect(pixels.blue).toBeGreaterThan(100)
      await page.close()
    })
})
