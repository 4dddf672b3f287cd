import { existsSync } from 'node:fs'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import type { ShutdownOptions } from '../../src/adapters/fastify/index.js'
import { frameworkErrors, rampart as rampartFastify } from '../../src/adapters/fastify/index.js'
import type { RampartOptions } from '../../src/config/options.js'
import { bindUser } from '../../src/context/context.js'
import type { Rampart } from '../../src/core/rampart.js'
import type { RouteConfig } from '../../src/pipeline/route-config.js'
import { type LogCapture, logCapture } from '../support/log-capture.js'
import { type AppDef, type AppState, type Call, newState, type Reply } from './app.js'

/** Rampart's options plus the shutdown options both adapters take. */
export type ConformanceOptions = RampartOptions & { shutdown?: ShutdownOptions }

/** One app of the suite, listening on 127.0.0.1. */
export interface Running {
  readonly adapter: string
  readonly url: string
  readonly port: number
  readonly logs: LogCapture
  readonly core: Rampart
  readonly state: AppState
  close(): Promise<void>
}

export type Build = (def: AppDef, options?: ConformanceOptions) => Promise<Running>

export interface Adapter {
  name: 'fastify' | 'express'
  build: Build
}

/** What every app of the suite starts from: JSON logs at info into a capture, no signal handlers. */
function baseOptions(logs: LogCapture): ConformanceOptions {
  return {
    service: 'conformance',
    nodeEnv: 'test',
    logLevel: 'info',
    logFormat: 'json',
    logDestination: logs.stream,
    shutdown: { signals: false },
  }
}

const methodsOf = (m: AppDef['routes'][number]['method']) => (Array.isArray(m) ? m : [m])

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

// ---- Fastify: `app.register(rampart, options)`, routes with `config` ----------------------

/** The Fastify set-up a service copies: the plugin, frameworkErrors, formbody and multipart. */
export const buildFastify: Build = async (def, options = {}) => {
  const logs = logCapture()
  const state = newState()
  const app = Fastify({ frameworkErrors })
  await app.register(rampartFastify, { ...baseOptions(logs), ...def.options, ...options })
  await app.register(formbody)
  await app.register(multipart, { limits: app.rampart.limits.multipart })
  const header = def.userHeader
  if (header !== undefined)
    app.addHook('onRequest', (request, _reply, done) => {
      const user = firstHeader(request.headers[header])
      if (user !== undefined) bindUser(user)
      done()
    })
  for (const route of def.routes) {
    // On Fastify `helmet` is a route option (as services write it), the rest the route's `config`.
    const { helmet, ...config }: RouteConfig = route.config ?? {}
    app.route({
      method: methodsOf(route.method),
      url: route.path,
      config: config as never,
      ...(helmet === undefined ? {} : { helmet }),
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const call: Call = {
          params: request.params as Record<string, string>,
          query: request.query as Record<string, unknown>,
          body: request.body,
          header: (name) => firstHeader(request.headers[name]),
          csrfToken: (sessionId) => request.csrfToken(sessionId),
          readUpload: async () => {
            let bytes = 0
            for await (const part of request.parts())
              if (part.type === 'file') for await (const chunk of part.file) bytes += chunk.length
            return bytes
          },
          writeHead: (status, headers, chunk) => {
            reply.raw.writeHead(status, headers)
            reply.raw.write(chunk)
          },
          state,
        }
        const out = await route.handler(call)
        reply.code(out.status ?? 200)
        for (const [name, value] of Object.entries(out.headers ?? {})) reply.header(name, value)
        if (out.type !== undefined) reply.type(out.type)
        return reply.send(out.body ?? null)
      },
    })
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  return {
    adapter: 'fastify',
    url: `http://127.0.0.1:${port}`,
    port,
    logs,
    core: app.rampart,
    state,
    close: async () => {
      await app.close()
    },
  }
}

// ---- Express: the fixed `rampart/express` API ------------------------------------------------

type ExpressHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => unknown

/** The public API of `rampart/express` the brief fixes, as the suite uses it. */
interface RampartExpress {
  readonly core: Rampart
  route(config: RouteConfig): ExpressHandler
  listen(options: { port: number; host?: string }): Promise<Server>
  close(): Promise<void>
}
interface ExpressModule {
  rampart(app: unknown, options: ConformanceOptions): Promise<RampartExpress>
}

const EXPRESS_ENTRY = new URL('../../src/adapters/express/index.ts', import.meta.url)

/** True once `rampart/express` exists in this tree: from then on its leg of the suite runs. */
export const expressAdapterExists = existsSync(EXPRESS_ENTRY)

/** Express request as the handlers read it (what `rampart/express` adds included). */
type ExpressRequest = IncomingMessage & {
  params: Record<string, string>
  query: Record<string, unknown>
  body: unknown
  csrfToken(sessionId?: string): string
}
type ExpressResponse = ServerResponse & {
  status(code: number): ExpressResponse
  type(type: string): ExpressResponse
  set(name: string, value: string): ExpressResponse
  send(body: unknown): ExpressResponse
  json(body: unknown): ExpressResponse
}

/** The Express set-up a service copies: `rampart(app)` first, `rp.route(...)` per route, `rp.listen`. */
export const buildExpress: Build = async (def, options = {}) => {
  const { default: express } = await import('express')
  const mod = (await import(/* @vite-ignore */ EXPRESS_ENTRY.href)) as ExpressModule
  const logs = logCapture()
  const state = newState()
  const app = express()
  const rp = await mod.rampart(app, { ...baseOptions(logs), ...def.options, ...options })
  const header = def.userHeader
  if (header !== undefined)
    app.use((req, _res, next) => {
      const user = firstHeader(req.headers[header])
      if (user !== undefined) bindUser(user)
      next()
    })
  const router = app as unknown as Record<string, (path: string, ...handlers: unknown[]) => void>
  for (const route of def.routes) {
    for (const method of methodsOf(route.method)) {
      const register = router[method.toLowerCase()]?.bind(app)
      if (register === undefined) throw new Error(`no Express method ${method}`)
      register(
        route.path,
        rp.route(route.config ?? {}),
        async (req: ExpressRequest, res: ExpressResponse) => {
          const call: Call = {
            params: req.params,
            query: req.query,
            body: req.body,
            header: (name) => firstHeader(req.headers[name]),
            csrfToken: (sessionId) => req.csrfToken(sessionId),
            // Multipart is the handler's: it reads the request stream (Rampart watches it).
            readUpload: async () => {
              let bytes = 0
              for await (const chunk of req) bytes += (chunk as Buffer).length
              return bytes
            },
            writeHead: (status, headers, chunk) => {
              res.writeHead(status, headers)
              res.write(chunk)
            },
            state,
          }
          const out: Reply = await route.handler(call)
          res.status(out.status ?? 200)
          for (const [name, value] of Object.entries(out.headers ?? {})) res.set(name, value)
          if (out.type !== undefined) res.type(out.type).send(out.body)
          else res.json(out.body ?? null)
        },
      )
    }
  }
  const server = await rp.listen({ port: 0, host: '127.0.0.1' })
  const port = (server.address() as AddressInfo).port
  return {
    adapter: 'express',
    url: `http://127.0.0.1:${port}`,
    port,
    logs,
    core: rp.core,
    state,
    close: async () => {
      if (server.listening) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), 1000).unref()
        await closed
      }
      await rp.close()
    },
  }
}

/** The adapters the suite runs on: Fastify always, Express once its adapter exists. */
export const adapters: Adapter[] = [
  { name: 'fastify', build: buildFastify },
  ...(expressAdapterExists ? [{ name: 'express' as const, build: buildExpress }] : []),
]
