import { describe, expect, it } from 'vitest'
import { isoNow, millisText } from '../../src/logging/logger.js'

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

describe('log line latency', () => {
  it('is the text String() gives the value rounded to the microsecond', () => {
    const values = [
      0, 0.0004, 0.0005, 0.001, 0.1, 0.5, 1, 1.5, 12.3456, 999.9999, 1234.5, 86_400_000,
    ]
    for (let i = 0; i < 20_000; i++) values.push(Math.random() * 10 ** ((i % 7) - 2))
    for (const v of values) expect(millisText(v)).toBe(String(Math.round(v * 1000) / 1000))
    // Out of the fast range: negative, huge, not a number.
    for (const v of [-1.25, 3e9, Number.NaN])
      expect(millisText(v)).toBe(String(Math.round(v * 1000) / 1000))
  })
})
