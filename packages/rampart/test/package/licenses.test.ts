import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

// The CI gate `node scripts/check-licenses.mjs`: the real production tree passes, and a tree
// with a copyleft, a non-satisfiable AND, or an unlicensed package fails naming each.
const script = new URL('../../../../scripts/check-licenses.mjs', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'rampart-licenses-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [script, ...args], {
    cwd: new URL('../../../../', import.meta.url).pathname,
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stderr }),
  )

describe('license allow-list of production dependencies', () => {
  it("passes on this repository's production tree", async () => {
    const r = await run([])
    expect(r.out).toMatch(/licenses: \d+ production dependencies, all in the allow-list/)
    expect(r.code).toBe(0)
  }, 60_000)

  it('fails naming each package outside it; an OR choice with one allowed side passes', async () => {
    const file = join(dir, 'query.json')
    writeFileSync(
      file,
      JSON.stringify([
        { name: 'ok', version: '1.0.0', license: 'MIT' },
        { name: 'dual', version: '1.0.0', license: '(MIT OR GPL-3.0)' },
        { name: 'gpl', version: '2.0.0', license: 'GPL-3.0-only' },
        { name: 'both', version: '1.0.0', license: 'MIT AND GPL-2.0' },
        { name: 'none', version: '1.0.0' },
        { name: 'mine', version: '1.0.0', private: true },
      ]),
    )
    const r = await run([file])
    expect(r.code).toBe(1)
    expect(r.out.trim().split('\n')).toEqual([
      'licenses: 3 production dependencies outside the allow-list:',
      '  gpl@2.0.0: GPL-3.0-only',
      '  both@1.0.0: MIT AND GPL-2.0',
      '  none@1.0.0: no license',
    ])
  })
})
