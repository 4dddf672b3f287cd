import { describe, expect, it, vi } from 'vitest'
import { createRampart } from '../../src/index.js'
import { logCapture } from '../support/log-capture.js'

// As if bullmq were not installed: its import fails the way a missing package does.
vi.mock('bullmq', () => {
  throw Object.assign(new Error("Cannot find package 'bullmq'"), { code: 'ERR_MODULE_NOT_FOUND' })
})

describe('rampart/bullmq without the bullmq package', () => {
  it('refuses a Redis queue with one line naming the package; the in-process queue still works', async () => {
    const { createBullmqQueue, createInProcessQueue } = await import('../../src/jobs/index.js')
    const core = createRampart({ service: 't', logDestination: logCapture().stream }, {})
    const err = await createBullmqQueue(core, 'q', { url: 'redis://127.0.0.1:1' }).catch((e) => e)
    expect(err).toMatchObject({ name: 'RampartError', code: 'ERR_RAMPART_CONFIG' })
    expect(err.message).toBe(
      'rampart/bullmq: background jobs on Redis need the bullmq package; install it (npm install bullmq) or run jobs in-process',
    )
    const queue = createInProcessQueue(core, 'q', async () => 'ok')
    expect(await queue.add('x', {})).toEqual({ id: '1' })
    await queue.close(1000)
    await core.close()
  })
})
