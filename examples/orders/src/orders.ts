import { z } from 'zod'

/** An order as the API returns it. */
export interface Order {
  id: number
  item: string
  qty: number
}

/** The body of `POST /orders` as JSON: `qty` must be a JSON integer. */
export const NewOrder = z.object({
  item: z.string().trim().min(1).max(100),
  qty: z.number().int().min(1).max(100),
})

/**
 * The same order from the HTML form (`application/x-www-form-urlencoded`): every field arrives
 * as a string, so `qty` is converted first, then held to the same rules.
 */
export const NewOrderForm = NewOrder.extend({
  qty: z
    .string()
    .regex(/^\s*\d+\s*$/, 'Expected a whole number')
    .transform(Number)
    .pipe(NewOrder.shape.qty),
})

/**
 * Orders kept in memory: 1–3 exist at start, `POST /orders` adds more. A real service keeps
 * them in its database; nothing else in this example depends on where they live.
 */
export class OrderBook {
  readonly #orders = new Map<number, Order>([
    [1, { id: 1, item: 'green tea', qty: 2 }],
    [2, { id: 2, item: 'oolong', qty: 1 }],
    [3, { id: 3, item: 'genmaicha', qty: 5 }],
  ])
  #nextId = 4

  /** The order with this id, or `undefined` (also for ids that are not whole numbers). */
  find(id: string): Order | undefined {
    return /^[1-9]\d{0,8}$/.test(id) ? this.#orders.get(Number(id)) : undefined
  }

  add(fields: z.output<typeof NewOrder>): Order {
    const order = { id: this.#nextId++, ...fields }
    this.#orders.set(order.id, order)
    return order
  }
}
