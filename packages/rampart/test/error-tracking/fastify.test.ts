import { fastifyApp } from '../support/error-tracking-app.js'
import { errorTrackingSuite } from '../support/error-tracking-suite.js'

errorTrackingSuite('fastify', fastifyApp)
