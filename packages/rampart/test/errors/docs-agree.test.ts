import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const root = new URL('../../../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

describe('docs/errors.md', () => {
  it('has a section for every RampartError code', () => {
    const source = read('packages/rampart/src/errors/rampart-error.ts')
    const union = source.slice(0, source.indexOf('/**', 10))
    const codes = [...union.matchAll(/'(ERR_RAMPART_[A-Z_]+)'/g)].map((m) => m[1])
    expect(codes.length).toBeGreaterThan(3)
    const doc = read('docs/errors.md')
    for (const code of codes) expect(doc, code).toContain(`### ${code}\n`)
  })
})
