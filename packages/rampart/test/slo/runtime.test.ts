import Fastify, { type FastifyInstance } from 'fastify'
import { defineConfig } from 'rampart'
import rampart from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { logCapture } from '../support/log-capture.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

const slo = (route: string) =>
  defineConfig({
    service: 'orders',
    slos: [
      { name: 'item-latency', kind: 'latency', route, thresholdSeconds: 0.25, objective: 99 },
      { name: 'availability', kind: 'availability', objective: 99.9 },
    ],
  })

async function build(route: string, service?: string, routes?: string[]) {
  const app = Fastify()
  apps.push(app)
  const logs = logCapture()
  await app.register(rampart, {
    logLevel: 'info',
    logDestination: logs.stream,
    slo: routes === undefined ? slo(route) : { ...slo(route), routes },
    ...(service === undefined ? {} : { service }),
  })
  app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }))
  app.post('/items', async (_request, reply) => reply.code(201).send({}))
  return { app, logs }
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('the running service reads rampart.config.ts', () => {
  it('creates the SLO route’s request and duration series at 0 before any request', async () => {
    const { app } = await build('GET /items/:id')
    const text = (await app.inject({ url: '/metrics' })).body
    for (const status of ['200', '500']) {
      const labels = `{method="GET",route="/items/:id",status="${status}"}`
      expect(sample(text, `http_requests_total${labels}`)).toBe(0)
      expect(sample(text, `http_request_duration_seconds_count${labels}`)).toBe(0)
      expect(
        sample(text, `http_request_duration_seconds_bucket{le="0.25",${labels.slice(1)}`),
      ).toBe(0)
    }
    // Only the SLO's route: POST /items gets its series on first use, as before.
    expect(text).not.toContain('route="/items",')
    // The first real request counts from 0 on the same series.
    await app.inject({ url: '/items/7' })
    const after = (await app.inject({ url: '/metrics' })).body
    expect(sample(after, 'http_requests_total{method="GET",route="/items/:id",status="200"}')).toBe(
      1,
    )
  })

  it('without a method, creates the series of every method the route answers', async () => {
    const { app } = await build('/items/:id')
    const text = (await app.inject({ url: '/metrics' })).body
    // Fastify answers HEAD on every GET route.
    for (const method of ['GET', 'HEAD'])
      expect(
        sample(text, `http_requests_total{method="${method}",route="/items/:id",status="200"}`),
      ).toBe(0)
    expect(text).not.toContain('method="POST",route="/items/:id"')
  })

  it('fails start-up naming the SLO when its route is not a route of the app', async () => {
    const { app } = await build('POST /items/:id')
    await expect(app.ready()).rejects.toThrow(
      'SLO item-latency: "POST /items/:id" is not a route of orders',
    )
  })

  it('starts when the config’s routes list matches the app’s routes (HEAD and Rampart’s own aside)', async () => {
    const { app } = await build('GET /items/:id', undefined, ['GET /items/:id', 'POST /items'])
    await expect(app.ready()).resolves.toBeDefined()
  })

  it('fails start-up naming each route the routes list has and the app lacks, and the reverse', async () => {
    const { app } = await build('GET /items/:id', undefined, [
      'GET /items/:id',
      'DELETE /items/:id',
      '/orders',
    ])
    await expect(app.ready()).rejects.toThrow(
      "rampart.config.ts routes differ from the app's: not routes of orders: DELETE /items/:id, /orders (routes registered before Rampart are not seen: register Rampart first); routes not listed: POST /items",
    )
  })

  it('accepts a route with an optional last parameter in the routes list', async () => {
    const { app } = await build('GET /items/:id', undefined, [
      'GET /items/:id',
      'POST /items',
      'GET /reports/:year?',
    ])
    app.get('/reports/:year?', async () => ({}))
    await expect(app.ready()).resolves.toBeDefined()
  })

  it('takes its service name from the config and warns when the service runs under another', async () => {
    const named = await build('GET /items/:id')
    expect(named.app.rampart.config.service).toBe('orders')
    expect(named.logs.lines().some((l) => l.event === 'config.warning')).toBe(false)
    const other = await build('GET /items/:id', 'billing')
    const warning = other.logs.lines().find((l) => l.event === 'config.warning')
    expect(String(warning?.msg)).toContain(
      'declares service "orders" but the service runs as "billing"',
    )
  })
})
