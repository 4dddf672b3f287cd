// airlock as `npm start` runs it (everything Rampart offers on), logging JSON to a file.
import { join } from 'node:path'
import pino from 'pino'
import { buildApp } from '../../examples/airlock/src/app.js'
import { benchDataDir, seedBench } from './airlock-fixture.js'

export default async function build() {
  const dataDir = benchDataDir()
  const app = await buildApp({
    dataDir,
    logFormat: 'json',
    logLevel: 'info',
    logDestination: pino.destination({
      dest: join(dataDir, 'airlock.log'),
      sync: true,
      minLength: 4096,
    }),
  })
  await seedBench(app.airlock.db)
  return app
}
