import { describe, expect, it } from 'vitest'
import { createRampart } from '../../src/index.js'
import { createInProcessQueue } from '../../src/jobs/index.js'
import { logCapture } from '../support/log-capture.js'

describe('the in-process queue closes with the core', () => {
  it('core.close(): the running job finishes, waiting ones are counted as abandoned, no job starts after', async () => {
    const logs = logCapture()
    const core = createRampart({ service: 't', logDestination: logs.stream }, {})
    const started: string[] = []
    let release: () => void = () => {}
    const queue = createInProcessQueue(
      core,
      'q',
      async (job) => {
        started.push(job.id)
        if (job.id === '1') await new Promise<void>((r) => (release = r))
      },
      { concurrency: 1 },
    )
    await queue.add('x', {})
    await queue.add('x', {})
    await queue.add('x', {})
    await new Promise((r) => setTimeout(r, 20))
    expect(started).toEqual(['1'])
    const closing = core.close()
    release()
    await closing
    await new Promise((r) => setTimeout(r, 20))
    expect(started).toEqual(['1'])
    expect(logs.lines().filter((l) => l.event === 'job.abandoned')).toMatchObject([
      { queue: 'q', jobs: 2 },
    ])
    await expect(queue.add('x', {})).rejects.toThrow(/closed/)
  })
})
