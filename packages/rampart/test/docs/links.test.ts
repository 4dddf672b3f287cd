import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../../', import.meta.url))

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? markdownFiles(join(dir, e.name))
      : e.name.endsWith('.md')
        ? [join(dir, e.name)]
        : [],
  )
}

describe('documentation links', () => {
  it('every relative link in README.md and docs/ points at a file that exists', () => {
    const broken: string[] = []
    for (const file of [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))]) {
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
