import Fastify, { type FastifyInstance } from 'fastify'
import { defineConfig } from 'rampart'
import rampart from 'rampart/fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createRedMetrics, recordRequest } from '../../src/metrics/red.js'
import { createMetrics } from '../../src/metrics/registry.js'
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

describe('latency thresholds off the default buckets (ADR 0016)', () => {
  const config = defineConfig({
    service: 'orders',
    slos: [
      {
        name: 'item-p99',
        kind: 'latency',
        route: 'GET /items/:id',
        thresholdSeconds: 0.2,
        objective: 99,
      },
      { name: 'all-p95', kind: 'latency', thresholdSeconds: 0.3, objective: 95 },
      {
        name: 'create-p90',
        kind: 'latency',
        route: 'POST /items',
        thresholdSeconds: 0.5,
        objective: 90,
      },
    ],
  })

  it('become bucket boundaries: of their route’s series only, or of every series for a service-wide SLO', async () => {
    const app = Fastify()
    apps.push(app)
    await app.register(rampart, { logLevel: 'silent', slo: config })
    app.get('/items/:id', async () => ({}))
    app.post('/items', async (_request, reply) => reply.code(201).send({}))
    app.get('/other', async () => ({}))
    await app.inject({ url: '/items/1' })
    await app.inject({ url: '/other' })
    const text = (await app.inject({ url: '/metrics' })).body
    const les = (route: string, method: string, status: string) =>
      text
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('http_request_duration_seconds_bucket{') &&
            l.includes(`method="${method}",route="${route}",status="${status}"`),
        )
        .map((l) => /le="([^"]+)"/.exec(l)?.[1])
    expect(les('/items/:id', 'GET', '200').join(' ')).toBe(
      '0.005 0.01 0.025 0.05 0.1 0.2 0.25 0.3 0.5 1 2.5 5 10 +Inf',
    )
    // 0.5 is a default boundary already: the POST route gets only the service-wide 0.3.
    expect(les('/items', 'POST', '200')).toContain('0.3')
    expect(les('/items', 'POST', '200')).not.toContain('0.2')
    expect(les('/other', 'GET', '200').join(' ')).toBe(
      '0.005 0.01 0.025 0.05 0.1 0.25 0.3 0.5 1 2.5 5 10 +Inf',
    )
  })

  it('count a request of exactly the threshold as within it, and one a tenth of a millisecond over as not', async () => {
    const metrics = createMetrics({ defaultMetrics: false })
    const red = createRedMetrics(metrics, config)
    recordRequest(red, 'GET', '/items/:id', 200, 0.2, undefined)
    recordRequest(red, 'GET', '/items/:id', 200, 0.2001, undefined)
    recordRequest(red, 'GET', '/items/:id', 200, 0.19, undefined)
    const text = (await metrics.render()).body
    const bucket = (le: string) =>
      sample(
        text,
        `http_request_duration_seconds_bucket{le="${le}",method="GET",route="/items/:id",status="200"}`,
      )
    expect(bucket('0.1')).toBe(0)
    expect(bucket('0.2')).toBe(2)
    expect(bucket('0.25')).toBe(3)
  })
})
