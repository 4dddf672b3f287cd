import { randomBytes } from 'node:crypto'
import express, { type Express, type Request } from 'express'
import { HttpError } from 'rampart'
import { rampart } from 'rampart/express'
import { NewOrder, NewOrderForm, OrderBook } from './orders.js'
import { orderCreated, orderForm } from './pages.js'

/** The cookie that identifies a visitor; CSRF tokens are bound to its value. */
export const SESSION_COOKIE = 'orders_session'

/** Rampart's options (the same as the Fastify plugin's, plus `shutdown`). */
export type OrdersOptions = NonNullable<Parameters<typeof rampart>[1]>

/** The value of one cookie of the request, if present. */
function cookie(req: Request, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * Builds the orders service without listening: Rampart first, then the routes. `main.ts` calls
 * `rp.listen()`, which adds the 404 and error handlers and graceful shutdown after the routes.
 *
 * @example
 * const { app, rp } = await buildApp({ nodeEnv: 'test', dataDir: tmp })
 */
export async function buildApp(
  options: OrdersOptions = {},
): Promise<{ app: Express; rp: Awaited<ReturnType<typeof rampart>> }> {
  const app = express()
  // Before any route. Rampart parses JSON and form bodies itself: no express.json() here.
  const rp = await rampart(app, {
    service: 'orders',
    csrf: { sessionCookie: SESSION_COOKIE },
    ...options,
  })
  const production = rp.core.config.nodeEnv === 'production'
  const orders = new OrderBook()

  app.get('/', (req, res) => {
    let session = cookie(req, SESSION_COOKIE)
    if (session === undefined) {
      session = randomBytes(18).toString('base64url')
      res.cookie(SESSION_COOKIE, session, {
        httpOnly: true,
        sameSite: 'lax',
        secure: production,
        path: '/',
      })
    }
    // The token binds to the session; a cookie set in this same answer is passed explicitly.
    res.type('html').send(orderForm(req.csrfToken(session)))
  })

  app.get('/orders/:id', rp.route({ rateLimit: 'read' }), (req, res) => {
    const order = orders.find(req.params.id)
    if (!order) throw new HttpError(404, { detail: `There is no order ${req.params.id}.` })
    res.json(order)
  })

  app.post('/orders', rp.route({ rateLimit: 'write', audit: 'order.create' }), (req, res) => {
    const form = req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded'
    if (!form && req.is('application/json') !== 'application/json')
      throw new HttpError(415, { detail: 'Send the order as application/json or a form.' })
    // A ZodError thrown here becomes a 422 problem listing each field in `errors[]`.
    const order = orders.add((form ? NewOrderForm : NewOrder).parse(req.body))
    if (form) res.status(201).type('html').send(orderCreated(order))
    else res.status(201).location(`/orders/${order.id}`).json(order)
  })

  return { app, rp }
}
