import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runTs } from '../support/child.js'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** Runs the fixture in a process where `bullmq` is missing or broken; what it printed. */
async function withBullmq(state: 'missing' | 'broken') {
  const child = runTs(fixture('without-bullmq.ts'), { RAMPART_TEST_BULLMQ: state }, [
    '--import',
    fixture('register-hide-bullmq.mjs'),
  ])
  expect(await child.exited, child.stderrText()).toBe(0)
  return JSON.parse(child.stdoutText())
}

describe('rampart/bullmq without the bullmq package', () => {
  it('refuses a Redis queue with one line naming the package; the in-process queue still works', async () => {
    const out = await withBullmq('missing')
    expect(out).toMatchObject({ name: 'RampartError', code: 'ERR_RAMPART_CONFIG' })
    expect(out.message).toBe(
      'background jobs on Redis (rampart/bullmq; in-process queues need nothing) needs the optional package bullmq, which is not installed; run: npm install bullmq',
    )
    expect(out.added).toEqual({ id: '1' })
  })

  it('an installed but broken bullmq is reported as itself, not as a missing package', async () => {
    const out = await withBullmq('broken')
    expect(out).toMatchObject({ name: 'Error', message: 'bullmq is broken' })
    expect(out.added).toEqual({ id: '1' })
  })
})
