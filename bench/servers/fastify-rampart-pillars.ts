import Fastify from 'fastify'
// Rampart's pillars one at a time, wired as the plugin wires them, so a suite can measure what
// each costs: the logging pillar (request id, async context, access line) always, plus the ones
// named in BENCH_PILLARS (comma-separated; `metrics` for the RED metrics). Issue 2's target
// ("logging costs at most 10 % of bare throughput") and issue 3's ("metrics ≤ 5 %") are about
// one pillar each, not the whole plugin.
import { mountPipeline } from '../../packages/rampart/src/adapters/fastify/translate.js'
import { requestContextFeature } from '../../packages/rampart/src/context/feature.js'
import { createRampart } from '../../packages/rampart/src/core/rampart.js'
import { metricsFeature } from '../../packages/rampart/src/metrics/feature.js'
import { createRedMetrics } from '../../packages/rampart/src/metrics/red.js'
import { Pipeline } from '../../packages/rampart/src/pipeline/pipeline.js'
import { benchLogDestination, jsonRoutes } from './routes.js'

export default async function build() {
  const pillars = new Set((process.env.BENCH_PILLARS ?? '').split(',').filter(Boolean))
  const app = Fastify({ logger: false })
  const core = createRampart({
    service: 'bench',
    logFormat: 'json',
    logLevel: 'info',
    logDestination: benchLogDestination('rampart-pillars'),
  })
  const pipeline = new Pipeline([requestContextFeature(core)])
  if (pillars.has('metrics')) pipeline.add(metricsFeature(core, createRedMetrics(core.metrics)))
  mountPipeline(app, core, pipeline)
  app.addHook('onClose', () => core.close())
  jsonRoutes(app)
  return app
}
