import { Writable } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuditLog } from '../../src/audit/audit-log.js'
import { progressBar } from '../../src/cli/progress.js'
import { createLogger } from '../../src/logging/logger.js'
import { createRedactor } from '../../src/logging/redact.js'
import { logCapture } from '../support/log-capture.js'
import { AUDIT_KEY, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

function make(db: string, options: Parameters<typeof createAuditLog>[1] = {}) {
  const logs = logCapture()
  const redactor = createRedactor()
  const audit = createAuditLog(
    {
      config: { audit: { db, key: Buffer.from(AUDIT_KEY) } },
      logger: createLogger({
        service: 't',
        level: 'info',
        format: 'json',
        redactor,
        destination: logs.stream,
      }),
      redactor,
      fingerprint: () => 'ffffffff',
    },
    options,
  )
  return { audit, logs }
}

describe('audit.record', () => {
  it('refuses bad input with ERR_RAMPART_AUDIT instead of writing it', async () => {
    const { audit } = make(`sqlite:${tmp.dir}/input.db`, { maxDetailsBytes: 100 })
    await expect(audit.record({ action: '' })).rejects.toMatchObject({ code: 'ERR_RAMPART_AUDIT' })
    await expect(audit.record({ action: 'a', details: { big: 'x'.repeat(200) } })).rejects.toThrow(
      /details are larger than 100 bytes/,
    )
    await expect(audit.record({ action: 'a' })).resolves.toMatchObject({ id: 1 })
    await audit.close()
    await expect(audit.record({ action: 'a' })).rejects.toThrow(/closed/)
  })

  it('bounds the queue: past maxQueue, record() rejects at once', async () => {
    const { audit } = make(`sqlite:${tmp.dir}/queue.db`, { maxQueue: 5 })
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => audit.record({ action: 'a' })),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5)
    expect(
      results
        .filter((r) => r.status === 'rejected')
        .map((r) => (r as PromiseRejectedResult).reason.message),
    ).toEqual(Array(3).fill('audit queue full (5 rows waiting for the database)'))
    await audit.close()
  })

  it('a throwing onAppend hook never fails the append', async () => {
    const { audit } = make(`sqlite:${tmp.dir}/hook.db`, {
      onAppend: () => {
        throw new Error('metrics broke')
      },
    })
    await expect(audit.record({ action: 'a' })).resolves.toMatchObject({ id: 1 })
    await audit.close()
  })

  it('uses the injected clock for `at`', async () => {
    const { audit } = make(`sqlite:${tmp.dir}/clock.db`, {
      now: () => new Date('2030-01-02T03:04:05.678Z'),
    })
    await audit.record({ action: 'a' })
    const store = await audit.store()
    expect((await store.readPage(0, 1))[0]?.at).toBe('2030-01-02T03:04:05.678Z')
    await audit.close()
  })
})

describe('CLI progress bar', () => {
  function tty(isTTY: boolean) {
    const out: string[] = []
    return {
      out,
      stream: Object.assign(
        new Writable({
          write(c: Buffer, _e: string, cb: () => void) {
            out.push(c.toString())
            cb()
          },
        }),
        { isTTY, columns: 80 },
      ),
    }
  }

  it('draws on a terminal only after a second, and never on a pipe', () => {
    let now = 0
    const t = tty(true)
    const bar = progressBar(t.stream, 1000, 'exporting', () => now)
    bar.update(10)
    expect(t.out).toEqual([])
    now = 2000
    bar.update(500)
    expect(t.out.join('')).toMatch(/^\rexporting \[#{20}-{20}\] 500\/1000 250\/s $/)
    bar.finish()
    expect(t.out.at(-1)).toBe('\n')

    const p = tty(false)
    const quiet = progressBar(p.stream, 1000, 'exporting', () => now)
    now = 5000
    quiet.update(900)
    quiet.finish()
    expect(p.out).toEqual([])
  })
})
