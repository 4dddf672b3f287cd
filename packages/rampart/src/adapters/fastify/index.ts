import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { RampartOptions } from '../../config/options.js'
import { buildFeatures } from '../../core/features.js'
import { createRampart } from '../../core/rampart.js'
import type { ShutdownOptions } from '../../core/shutdown.js'
import { createRawAnswers } from '../../pipeline/raw-answers.js'
import { installServer } from './server.js'
import { mountPipeline } from './translate.js'
import './types.js'

export type { AuditLog, AuditReceipt, AuditRecord } from '../../audit/index.js'
export type { RampartOptions } from '../../config/options.js'
export { bindUser, currentContext } from '../../context/context.js'
export { csrfField } from '../../csrf/field.js'
export { HttpError } from '../../errors/http-error.js'
export { applyServerTimeouts, type ServerTimeouts } from '../../security/server-timeouts.js'
export type { RampartSpan, SpanAttributes } from '../../tracing/types.js'
export { withSpan } from '../../tracing/with-span.js'
export { frameworkErrors } from './framework-errors.js'

/** Options of the Fastify plugin: everything in `RampartOptions`. */
export interface RampartFastifyOptions extends RampartOptions {
  /** Graceful shutdown on SIGTERM/SIGINT once the app listens; `{ signals: false }` turns it off. */
  shutdown?: ShutdownOptions
}
export type { ShutdownOptions } from '../../core/shutdown.js'
export type { ReadinessCheck } from '../../health/health.js'

const plugin: FastifyPluginAsync<RampartFastifyOptions> = async (app: FastifyInstance, options) => {
  const core = createRampart(options)
  app.decorate('rampart', core)
  // The ordered features (core/features.ts), mapped onto Fastify's hooks.
  const { pipeline, red, csrf } = await buildFeatures(core, options)
  mountPipeline(app, core, pipeline, csrf)
  // answers written before or outside routing: parser errors, router errors, 100-continue, and
  // requests arriving while the app closes (its preClose hook must run before the shutdown
  // drain's, which waits: Fastify refuses new requests from the moment closing starts)
  core.rawAnswers = createRawAnswers(core, red)
  installServer(app, core, core.rawAnswers, options.shutdown)
  app.addHook('onClose', async () => {
    await core.close()
  })
}

/**
 * The Rampart Fastify plugin: one `register` call wires logging, metrics, health checks,
 * security headers, error pages, CSRF, rate limiting, audit and tracing with safe defaults.
 *
 * @example
 * import Fastify from 'fastify'
 * import rampart from 'rampart/fastify'
 * const app = Fastify()
 * await app.register(rampart, { service: 'orders' })
 */
export const rampart = fp(plugin, { fastify: '5.x', name: 'rampart' })
export default rampart
