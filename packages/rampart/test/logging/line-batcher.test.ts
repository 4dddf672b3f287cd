import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createRedactor } from 'rampart'
import { createLogging } from 'rampart/internal'
import { afterEach, describe, expect, it } from 'vitest'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function fileLogging() {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-batch-'))
  dirs.push(dir)
  const file = join(dir, 'out.log')
  const dest = pino.destination({ dest: file, sync: true })
  const writes: string[] = []
  const write = dest.write.bind(dest)
  dest.write = (s: string) => {
    writes.push(s)
    return write(s)
  }
  const logging = createLogging({
    service: 'svc',
    level: 'info',
    format: 'json',
    redactor: createRedactor(),
    destination: dest,
  })
  const read = () =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { ...logging, writes, read }
}

const access = (i: number) => ({
  request_id: `r${i}`,
  method: 'GET',
  route: '/items/:id',
  status: 200,
  latency_ms: 1,
})

describe('log lines of one event-loop turn are written together', () => {
  it('hands the file one write per turn, with pino’s lines and access lines in order', async () => {
    const log = fileLogging()
    for (let i = 0; i < 50; i++) {
      log.logger.info({ event: 'work.done', n: i })
      log.writeAccess('info', access(i))
    }
    expect(log.writes).toHaveLength(0)
    await new Promise((r) => setImmediate(r))
    expect(log.writes).toHaveLength(1)
    const lines = log.read()
    expect(lines).toHaveLength(100)
    expect(lines.map((l) => l.event)).toEqual(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 'work.done' : 'request.completed')),
    )
    expect(lines[99]).toMatchObject({ request_id: 'r49', level: 'info', service: 'svc' })
  })

  it('writes pending lines on flush, before the turn ends', async () => {
    const log = fileLogging()
    log.writeAccess('info', access(1))
    await new Promise<void>((resolve) => log.logger.flush(() => resolve()))
    expect(log.read()).toHaveLength(1)
  })

  it('loses no line when the process exits in the same turn', () => {
    const script = `
      import pino from 'pino'
      import { createRedactor } from 'rampart'
      import { createLogging } from 'rampart/internal'
      const { logger, writeAccess } = createLogging({ service: 's', level: 'info', format: 'json', redactor: createRedactor(), destination: pino.destination({ dest: 1, sync: true }) })
      for (let i = 0; i < 3; i++) writeAccess('info', { request_id: 'x' + i, method: 'GET', route: '/', status: 200, latency_ms: 1 })
      logger.info({ event: 'last.line' })
      process.exit(0)
    `
    const out = spawnSync(
      process.execPath,
      ['--conditions=rampart-source', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    )
    expect(out.status).toBe(0)
    const events = out.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { event: string }).event)
    expect(events).toEqual([
      'request.completed',
      'request.completed',
      'request.completed',
      'last.line',
    ])
  })
})
