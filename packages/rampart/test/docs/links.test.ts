import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { markdownUnder } from '../support/doc-snippets.js'

const root = fileURLToPath(new URL('../../../../', import.meta.url))

describe('documentation links', () => {
  it('every relative link in README.md and docs/ points at a file that exists', () => {
    const broken: string[] = []
    for (const file of [join(root, 'README.md'), ...markdownUnder(join(root, 'docs'))]) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string
        if (/^[a-z]+:/.test(target)) continue
        if (!existsSync(resolve(dirname(file), target)))
          broken.push(`${file.slice(root.length)} → ${target}`)
      }
    }
    expect(broken).toEqual([])
  })
})
