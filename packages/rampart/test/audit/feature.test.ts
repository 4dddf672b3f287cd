import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { auditFeature } from '../../src/audit/feature.js'
import { createRampart, type Rampart } from '../../src/core/rampart.js'
import type { HttpError } from '../../src/errors/http-error.js'
import { TestExchange } from '../support/exchange.js'
import { logCapture } from '../support/log-capture.js'
import { AUDIT_KEY, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
let core: Rampart
afterEach(async () => {
  await core?.close()
})

const rows = (file: string) => {
  const d = new Database(file, { readonly: true })
  const out = d.prepare('select action, target, outcome, actor from event_log order by id').all()
  d.close()
  return out
}

describe('audit feature, framework-free', () => {
  it('writes attempted before the handler and failed after an answer >= 400; none for unaudited routes', async () => {
    const file = `${tmp.dir}/f.db`
    core = createRampart(
      {
        service: 't',
        logDestination: logCapture().stream,
        dataDir: tmp.dir,
        audit: { db: `sqlite:${file}`, key: AUDIT_KEY },
      },
      {},
    )
    const feature = auditFeature(core)
    expect(feature.forRoute?.({ methods: ['GET'], url: '/plain', config: {} })).toBeUndefined()
    const hooks = feature.forRoute?.({
      methods: ['POST'],
      url: '/docs/:id/approve',
      config: { audit: true },
    })
    await feature.ready?.([])
    const ex = new TestExchange({
      method: 'POST',
      url: '/docs/7/approve?x=1',
      route: '/docs/:id/approve',
    })
    ex.context.userId = 'admin-1'
    expect(await hooks?.beforeHandler?.(ex, {})).toBeUndefined()
    expect(ex.auditRecorded).toBe(true)
    hooks?.after?.(ex, 409)
    const ok = new TestExchange({
      method: 'POST',
      url: '/docs/8/approve',
      route: '/docs/:id/approve',
    })
    await hooks?.beforeHandler?.(ok, {})
    hooks?.after?.(ok, 200)
    await new Promise((r) => setTimeout(r, 200))
    expect(rows(file)).toEqual([
      {
        action: 'POST /docs/:id/approve',
        target: '/docs/7/approve',
        outcome: 'attempted',
        actor: 'admin-1',
      },
      {
        action: 'POST /docs/:id/approve',
        target: '/docs/7/approve',
        outcome: 'failed',
        actor: 'admin-1',
      },
      {
        action: 'POST /docs/:id/approve',
        target: '/docs/8/approve',
        outcome: 'attempted',
        actor: null,
      },
    ])
  })

  it('answers 503 with Retry-After when the row cannot be written', async () => {
    core = createRampart(
      {
        service: 't',
        logDestination: logCapture().stream,
        audit: { db: 'postgres://nobody@127.0.0.1:1/none', key: AUDIT_KEY },
      },
      {},
    )
    const hooks = auditFeature(core).forRoute?.({
      methods: ['POST'],
      url: '/x',
      config: { audit: 'x.done' },
    })
    const ex = new TestExchange({ method: 'POST', url: '/x', route: '/x' })
    const verdict = (await hooks?.beforeHandler?.(ex, {})) as HttpError
    expect(verdict.status).toBe(503)
    expect(verdict.headers['retry-after']).toBe('5')
    expect(ex.auditRecorded).toBe(false)
  })
})
