import { z } from 'zod'
import type { RampartOptions } from '../../src/config/options.js'
import { bindUser } from '../../src/context/context.js'
import { HttpError } from '../../src/errors/http-error.js'
import type { RouteConfig } from '../../src/pipeline/route-config.js'
import { CANARY, USER_ID } from '../support/error-tracking-app.js'

/**
 * A tiny app written once, without any framework: each adapter's builder (`adapters.ts`) turns
 * it into a real Fastify or Express app behind Rampart. Handlers see a neutral `Call` and
 * answer with a `Reply` (or throw): what a service's handler does on either framework.
 */

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'

/** What a handler answers; `body` is sent as JSON unless `type` says otherwise. */
export interface Reply {
  status?: number
  body?: unknown
  type?: string
  headers?: Record<string, string>
}

/** What a handler can read and do, whatever the framework. */
export interface Call {
  readonly params: Readonly<Record<string, string | undefined>>
  readonly query: Readonly<Record<string, unknown>>
  /** The body as the adapter parsed it (JSON, or a form), `undefined` when there is none. */
  readonly body: unknown
  header(name: string): string | undefined
  /** A CSRF token bound to this request's session (or to `sessionId`). */
  csrfToken(sessionId?: string): string
  /** Reads a multipart upload to its end; the number of file (or body) bytes read. */
  readUpload(): Promise<number>
  /** Writes the status line, headers and a first chunk straight to the socket (no Rampart hook). */
  writeHead(status: number, headers: Record<string, string>, chunk: string): void
  /** Per-app counters the tests read. */
  readonly state: AppState
}

export interface AppState {
  /** Requests that reached a state-changing handler. */
  handled: number
  /** Requests held in `/held/:id`, and the gate that lets them go. */
  entered: number
  release(): void
  held: Promise<void>
}

export interface RouteDef {
  method: Method | Method[]
  /** A path template in the `/items/:id` form both frameworks read. */
  path: string
  config?: RouteConfig
  handler(call: Call): Promise<Reply> | Reply
}

export interface AppDef {
  routes: RouteDef[]
  /** Options the routes rely on (their rate-limit policies), under whatever a test adds. */
  options?: RampartOptions
  /** A header naming the principal, bound with `bindUser` before any route runs (a stand-in for authentication). */
  userHeader?: string
}

export function newState(): AppState {
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  return { handled: 0, entered: 0, release: () => release(), held }
}

export const SECRET_KEY = 's'.repeat(40)
export const SESSION_COOKIE = 'sid'
export const SESSION = 'abc123.signedvalue'
/** A message a 500 must never show in production. */
export const SECRET_MESSAGE = 'db password rejected at /srv/app/src/orders/repository.ts:42'

const ok = (call: Call): Reply => {
  call.state.handled++
  return { body: { ok: true } }
}

const Item = z.object({ title: z.string().min(1), direction: z.enum(['egress', 'ingress']) })

/** The conformance app: one route per behaviour the suite checks. */
export const conformanceApp: AppDef = {
  options: { rateLimit: { policies: { t10: { perMinute: 10 } } } },
  userHeader: 'x-user',
  routes: [
    { method: 'GET', path: '/items/:id', handler: (c) => ({ body: { id: c.params.id } }) },
    {
      method: 'POST',
      path: '/items',
      handler: (c) => {
        c.state.handled++
        return { status: 201, body: { created: c.body ?? null } }
      },
    },
    { method: 'POST', path: '/zod', handler: (c) => ({ body: Item.parse(c.body) }) },
    {
      method: 'GET',
      path: '/forbidden',
      handler: () => {
        throw new HttpError(403, { detail: 'Only the owner may do this.' })
      },
    },
    {
      method: 'GET',
      path: '/boom',
      handler: () => {
        throw new Error(SECRET_MESSAGE)
      },
    },
    {
      method: 'GET',
      path: '/page',
      handler: () => ({ type: 'text/html; charset=utf-8', body: '<!doctype html><p>hi</p>' }),
    },
    {
      method: 'GET',
      path: '/own-frame',
      handler: () => ({ headers: { 'x-frame-options': 'SAMEORIGIN' }, body: { ok: true } }),
    },
    {
      method: 'GET',
      path: '/embed',
      config: { helmet: { frameguard: false } },
      handler: () => ({ body: { embeddable: true } }),
    },
    {
      method: 'GET',
      path: '/style.css',
      config: { noStore: false },
      handler: () => ({
        type: 'text/css; charset=utf-8',
        headers: { 'cache-control': 'public, max-age=3600' },
        body: 'p{color:red}',
      }),
    },
    {
      method: 'GET',
      path: '/me',
      handler: () => {
        bindUser('u-42')
        return { body: { ok: true } }
      },
    },
    { method: 'GET', path: '/token', handler: (c) => ({ body: { token: c.csrfToken() } }) },
    {
      method: 'GET',
      path: '/form',
      handler: (c) => ({
        type: 'text/html; charset=utf-8',
        body: `<form method="post"><input type="hidden" name="csrf_token" value="${c.csrfToken()}"></form>`,
      }),
    },
    {
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      path: '/transfer',
      handler: ok,
    },
    { method: 'POST', path: '/webhook', config: { csrf: false }, handler: ok },
    {
      // Signs in: sets a new session cookie. Login CSRF is the Fetch Metadata check (no session yet).
      method: 'POST',
      path: '/login',
      config: { sensitive: true },
      handler: (c) => {
        const form = (c.body ?? {}) as Record<string, unknown>
        if (form.password !== 'right') throw new HttpError(401, { detail: 'Wrong password.' })
        c.state.handled++
        return {
          status: 200,
          headers: { 'set-cookie': `${SESSION_COOKIE}=new-session; HttpOnly; Path=/` },
          body: { ok: true },
        }
      },
    },
    {
      method: 'GET',
      path: '/limited/:id',
      config: { rateLimit: 't10' },
      handler: (c) => ({ body: { id: c.params.id } }),
    },
    {
      method: 'GET',
      path: '/unlimited',
      config: { rateLimit: false },
      handler: () => ({ body: { ok: true } }),
    },
    { method: 'POST', path: '/docs/:id/approve', config: { audit: true }, handler: ok },
    {
      method: 'POST',
      path: '/conflict',
      config: { audit: 'x.done' },
      handler: () => ({ status: 409, body: { conflict: true } }),
    },
    {
      method: 'POST',
      path: '/upload',
      handler: async (c) => {
        const bytes = await c.readUpload()
        c.state.handled++
        return { body: { bytes } }
      },
    },
    {
      method: 'GET',
      path: '/slow',
      handler: async () => {
        await new Promise((r) => setTimeout(r, 400))
        return { body: { ok: true } }
      },
    },
    {
      method: ['GET', 'POST'],
      path: '/held/:id',
      handler: async (c) => {
        c.state.entered++
        await c.state.held
        return { body: { ok: true } }
      },
    },
    {
      // Fails after its 200 headers went out: logged and counted as a 500, never a 499.
      method: 'GET',
      path: '/half',
      handler: async (c) => {
        c.writeHead(200, { 'content-type': 'text/plain' }, 'half a body')
        await new Promise((r) => setTimeout(r, 30))
        throw new Error('failed after writing')
      },
    },
  ],
}

/** The routes `test/support/error-tracking-suite.ts` drives, written once. */
export const errorTrackingApp: AppDef = {
  routes: [
    {
      method: 'GET',
      path: '/items/:id/fail',
      handler: () => fail(),
    },
    // A webhook-like route (no CSRF token) so the cookie canary reaches the handler.
    { method: 'POST', path: '/items/:id/fail', config: { csrf: false }, handler: () => fail() },
    {
      method: 'GET',
      path: '/items/:id/slow-fail',
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 300))
        throw new Error('slow failure')
      },
    },
    { method: 'GET', path: '/items/:id/unavailable', handler: () => ({ status: 503, body: {} }) },
    {
      method: 'GET',
      path: '/items/:id/half',
      handler: async (c) => {
        c.writeHead(200, { 'content-type': 'text/plain' }, 'half a body')
        await new Promise((resolve) => setTimeout(resolve, 20))
        throw new Error('failed after writing')
      },
    },
    { method: 'GET', path: '/items/:id', handler: () => ({ body: { ok: true } }) },
    {
      method: 'POST',
      path: '/items',
      handler: () => {
        throw new HttpError(422, { detail: 'name is required' })
      },
    },
  ],
}

function fail(): never {
  bindUser(USER_ID)
  throw Object.assign(new Error(`lookup failed for token=${CANARY.message}`), {
    details: { reason: 'backend down', secret: CANARY.nested },
  })
}
