import type { FastifyInstance } from 'fastify'

/** The simple JSON route every HTTP suite measures. */
export function jsonRoutes(app: FastifyInstance, config: Record<string, unknown> = {}): void {
  app.get<{ Params: { id: string } }>('/items/:id', { config }, async (request) => ({
    id: request.params.id,
    name: 'widget',
    price: 42,
    tags: ['a', 'b'],
  }))
}
