import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { envSchema } from '../../src/config/env.js'

describe('docs/configuration.md', () => {
  it('lists exactly the environment variables the schema reads', () => {
    const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8')
    const section = doc.slice(
      doc.indexOf('## Environment variables'),
      doc.indexOf('## Options in code'),
    )
    const documented = [...section.matchAll(/^\| `([A-Z_<>]+)`\s*\|/gm)].map((m) => m[1])
    const read = [...Object.keys(envSchema.shape), 'RATE_LIMIT_<POLICY>_PER_MINUTE']
    expect([...documented].sort()).toEqual([...read].sort())
  })
})
