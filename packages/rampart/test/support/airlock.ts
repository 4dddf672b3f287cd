import { startAirlock, type TestAirlock } from '../../../../examples/airlock/test/helpers.js'

/**
 * airlock's own test instance (temporary SQLite files, demo users, logs captured), listening
 * on a free port for a real client such as Prometheus.
 */
export async function listeningAirlock(): Promise<TestAirlock & { host: string; url: string }> {
  const airlock = await startAirlock('sqlite')
  await airlock.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = airlock.app.server.address() as { port: number }
  return { ...airlock, host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` }
}
