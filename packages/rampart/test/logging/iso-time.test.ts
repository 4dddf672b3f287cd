import { describe, expect, it } from 'vitest'
import { isoNow } from '../../src/logging/logger.js'

describe('log line time', () => {
  it('is exactly toISOString(), across milliseconds, seconds, days and years', () => {
    const starts = [
      Date.UTC(2026, 11, 31, 23, 59, 58, 990), // into a new year
      Date.UTC(2028, 1, 28, 23, 59, 59, 500), // into a leap day
      0,
      Date.now(),
    ]
    for (const start of starts) {
      for (let t = start; t < start + 2500; t += 7) {
        expect(isoNow(t)).toBe(new Date(t).toISOString())
      }
    }
    // Going back in time (a clock step) re-formats the second.
    expect(isoNow(Date.UTC(2030, 0, 1, 0, 0, 0, 1))).toBe('2030-01-01T00:00:00.001Z')
    expect(isoNow(Date.UTC(2029, 0, 1, 0, 0, 0, 1))).toBe('2029-01-01T00:00:00.001Z')
  })
})
