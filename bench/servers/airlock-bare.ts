// The same handler as airlock's GET /api/v1/requests/:id (bearer-token lookup, then the request
// with its owner and files from SQLite) on bare Fastify: no Rampart, no logging.
import { join } from 'node:path'
import Fastify from 'fastify'
import { tokenUser } from '../../examples/airlock/src/auth/tokens.js'
import { openDatabase } from '../../examples/airlock/src/db/database.js'
import { RequestStore } from '../../examples/airlock/src/domain/requests.js'
import { benchDataDir, seedBench } from './airlock-fixture.js'

export default async function build() {
  const db = await openDatabase({ url: `sqlite:${join(benchDataDir(), 'airlock.db')}` })
  await seedBench(db)
  const requests = new RequestStore(db)
  const app = Fastify({ logger: false })
  app.get<{ Params: { id: string } }>('/api/v1/requests/:id', async (request, reply) => {
    const auth = request.headers.authorization
    const user = auth?.startsWith('Bearer ') ? await tokenUser(db, auth.slice(7)) : undefined
    if (!user) return reply.code(401).send({ title: 'Unauthorized' })
    return requests.get(user, request.params.id)
  })
  return app
}
