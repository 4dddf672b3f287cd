import { buildApp } from '../../examples/airlock/src/app.js'
import { benchDataDir, seedBench } from './airlock-fixture.js'
import { benchLogDestination } from './routes.js'

export default async function build() {
  const dataDir = benchDataDir()
  const app = await buildApp({
    dataDir,
    logFormat: 'json',
    logLevel: 'info',
    logDestination: benchLogDestination('airlock', dataDir),
  })
  await seedBench(app.airlock.db)
  return app
}
