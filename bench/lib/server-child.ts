// Runs one benchmark server in its own process and prints "PORT <n>" once it listens.
import { pathToFileURL } from 'node:url'

const file = process.argv[2]
if (!file) throw new Error('usage: server-child.ts <server module in bench/servers>')
const mod = (await import(
  pathToFileURL(new URL(`../servers/${file}`, import.meta.url).pathname).href
)) as {
  default: () => Promise<{
    listen(o: { port: number; host: string }): Promise<string>
    server: { address(): unknown }
  }>
}
const app = await mod.default()
await app.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.address() as { port: number }
process.stdout.write(`PORT ${port}\n`)

// The harness asks for CPU time before and after each round to compute CPU per request.
process.on('message', () => {
  const { user, system } = process.cpuUsage()
  process.send?.(user + system)
})
