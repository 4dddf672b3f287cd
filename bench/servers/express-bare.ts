// Bare Express 5: the baseline of the Express suites (the same JSON route as routes.ts).
import { createServer, type Server } from 'node:http'
import express from 'express'

export default async function build() {
  const app = express()
  app.disable('x-powered-by')
  app.get('/items/:id', (req, res) => {
    res.json({ id: req.params.id, name: 'widget', price: 42, tags: ['a', 'b'] })
  })
  const server: Server = createServer(app)
  return {
    server,
    listen: ({ port, host }: { port: number; host: string }) =>
      new Promise<string>((resolve) => server.listen(port, host, () => resolve(`${host}:${port}`))),
  }
}
