import { describe, expect, it } from 'vitest'
import { createRampart } from '../../src/core/rampart.js'
import { serveWorkerProcess } from '../../src/jobs/index.js'
import { logCapture } from '../support/log-capture.js'

describe('a worker process stopped directly (not by a signal)', () => {
  it('removes its SIGTERM and SIGINT listeners: a later signal finds nothing of it', async () => {
    const listeners = () => [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]
    const before = listeners()
    const core = createRampart({ service: 'w', logDestination: logCapture().stream }, {})
    const served = await serveWorkerProcess(core, { workers: [], port: 0 })
    expect(listeners()).toEqual(before.map((n) => n + 1))
    expect(await served.stop()).toBe(true)
    expect(listeners()).toEqual(before)
    const res = await fetch(`http://127.0.0.1:${served.port}/healthz`).catch((e: Error) => e)
    expect(res).toBeInstanceOf(Error)
  })
})
