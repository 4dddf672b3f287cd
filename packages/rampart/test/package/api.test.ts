import { readFileSync } from 'node:fs'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// The root export is the API a service holds in its head: docs/api.md lists every name, and
// this pins the module, its source and that page to the same list.
const docs = readFileSync(new URL('../../../../docs/api.md', import.meta.url), 'utf8')
const indexSource = readFileSync(new URL('../../src/index.ts', import.meta.url), 'utf8')

/** The names in the first column of the table under `### <heading>` in the `rampart` section. */
function documented(heading: string): string[] {
  const section = docs.slice(docs.indexOf('## `rampart`\n'), docs.indexOf('## `rampart/internal`'))
  const start = section.indexOf(`### ${heading}\n`)
  expect(start, heading).toBeGreaterThan(-1)
  const table = section.slice(start).split('\n### ')[0] as string
  return [...table.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1] as string)
}

/** Every name `src/index.ts` exports, split into values and types, read from its syntax. */
function exportedBySource(): { values: string[]; types: string[] } {
  const file = ts.createSourceFile('index.ts', indexSource, ts.ScriptTarget.Latest)
  const values: string[] = []
  const types: string[] = []
  for (const statement of file.statements) {
    if (!ts.isExportDeclaration(statement)) continue
    const clause = statement.exportClause
    // `export *` would make the surface whatever the barrel behind it holds.
    if (clause === undefined || !ts.isNamedExports(clause))
      throw new Error(`src/index.ts: ${statement.getText(file)} is not a list of names`)
    for (const spec of clause.elements)
      (statement.isTypeOnly || spec.isTypeOnly ? types : values).push(spec.name.text)
  }
  return { values, types }
}

const byName = (a: string, b: string) => a.localeCompare(b, 'en')

describe('the root export (docs/api.md)', () => {
  it('at run time is exactly the functions and classes docs/api.md lists', async () => {
    const mod = await import('rampart')
    expect(Object.keys(mod).sort(byName)).toEqual(documented('Functions and classes').sort(byName))
  })

  it('in the source exports exactly the values and types docs/api.md lists, each once', () => {
    const { values, types } = exportedBySource()
    expect(values.sort(byName)).toEqual(documented('Functions and classes').sort(byName))
    expect(types.sort(byName)).toEqual(documented('Types').sort(byName))
    const all = [...values, ...types]
    expect(new Set(all).size).toBe(all.length)
  })

  it('keeps the internals out: they are in rampart/internal, not the root', async () => {
    const root = (await import('rampart')) as Record<string, unknown>
    const internal = (await import('rampart/internal')) as Record<string, unknown>
    for (const name of ['resolveConfig', 'createMetrics', 'verifyChain', 'MemoryStore']) {
      expect(root[name], name).toBeUndefined()
      expect(typeof internal[name], name).toBe('function')
    }
    // No name is in both: the root is not a subset of the unstable entry.
    expect(Object.keys(internal).filter((n) => n in root)).toEqual([])
  })
})
