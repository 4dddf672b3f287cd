// Proves the acceptance line "removing any one feature's adapter wiring makes at least one
// conformance test fail": for each mutation below, edits the adapter source (one exact,
// unique text replacement), runs the conformance suite for that adapter, records the failing
// tests, and restores the file with `git checkout`. Not a test: run it by hand from the
// worktree root, `node packages/rampart/test/conformance/mutations.mjs [--bail] [fastify|express] [feature…]`.
// Prints a markdown table; exits 1 when a mutation made no test fail (or did not apply).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { MUTATIONS } from './mutation-list.mjs'

// `--bail`: stop each run at its first failing test (quicker; the names listed are the first ones).
let bail = process.argv.includes('--bail')
const [onlyAdapter, ...onlyFeatures] = process.argv.slice(2).filter((a) => a !== '--bail')
const SUITE = ['packages/rampart/test/conformance/conformance.test.ts']
const OUT = join(tmpdir(), `rampart-mutation-${process.pid}.json`)

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The name pattern of an adapter's tests, leaving out the ones that already fail without any
 * mutation (a mutation must make a test fail that passed, or `--bail` would stop at an old failure).
 */
function pattern(adapter, known) {
  if (known.length === 0) return adapter
  return `^(?!.*(?:${known.map((t) => escapeRegExp(t)).join('|')})).*${adapter}`
}

function run(adapter, files = SUITE, known = []) {
  rmSync(OUT, { force: true })
  spawnSync(
    'npx',
    [
      'vitest',
      'run',
      ...files,
      '-t',
      pattern(adapter, known),
      ...(bail ? ['--bail=1'] : []),
      '--reporter=json',
      `--outputFile=${OUT}`,
    ],
    { stdio: 'ignore', timeout: 600_000 },
  )
  if (!existsSync(OUT)) return { error: 'the suite did not run', failed: [], passed: 0 }
  const report = JSON.parse(readFileSync(OUT, 'utf8'))
  const failed = []
  const titles = []
  let passed = 0
  for (const file of report.testResults)
    for (const t of file.assertionResults) {
      if (t.status === 'failed') failed.push(t.fullName ?? t.title)
      if (t.status === 'failed') titles.push(t.title)
      if (t.status === 'passed') passed++
    }
  // A file that fails to load (a syntax error) has no assertion results: count it as failing.
  for (const file of report.testResults)
    if (file.status === 'failed' && file.assertionResults.length === 0)
      failed.push(`${file.name}: ${String(file.message).split('\n')[0]}`)
  return { failed, titles, passed }
}

/** Per adapter: the tests failing with no mutation (their titles), run once on every file. */
const ALL = [
  ...SUITE,
  'packages/rampart/test/conformance/tracing.test.ts',
  'packages/rampart/test/conformance/error-tracking.test.ts',
]
const baseline = new Map()
function knownFailures(adapter) {
  if (!baseline.has(adapter)) {
    const wasBail = bail
    bail = false
    const result = run(adapter, ALL)
    bail = wasBail
    baseline.set(adapter, result.titles)
    process.stderr.write(
      `${adapter} baseline: ${result.passed} passed, ${result.failed.length} failed ${JSON.stringify(result.failed)}\n`,
    )
    if (result.failed.length > 0)
      console.log(
        `${adapter}: failing before any mutation (left out of the mutation runs): ${result.failed.join('; ')}\n`,
      )
  }
  return baseline.get(adapter)
}

const rows = []
let bad = 0
for (const m of MUTATIONS) {
  if (onlyAdapter && m.adapter !== onlyAdapter) continue
  if (onlyFeatures.length > 0 && !onlyFeatures.some((f) => m.feature.includes(f))) continue
  if (!existsSync(m.file)) {
    rows.push([m.adapter, m.feature, `not applied: ${m.file} does not exist`])
    bad++
    continue
  }
  const text = readFileSync(m.file, 'utf8')
  const count = text.split(m.find).length - 1
  if (count !== 1) {
    rows.push([m.adapter, m.feature, `not applied: the text occurs ${count} times in ${m.file}`])
    bad++
    continue
  }
  const known = knownFailures(m.adapter)
  writeFileSync(m.file, text.replace(m.find, m.replace))
  let result
  try {
    result = run(m.adapter, m.files, known)
  } finally {
    execFileSync('git', ['checkout', '--', m.file])
  }
  if (result.failed.length === 0) bad++
  const names = result.failed.map((n) =>
    n.replace(/^.*?(conformance on|tracing on|error tracking) /, '$1 '),
  )
  rows.push([
    m.adapter,
    m.feature,
    result.error ??
      (names.length === 0
        ? '**NONE FAILED**'
        : `${names.length} failed: ${names.slice(0, 4).join('; ')}${names.length > 4 ? '; …' : ''}`),
  ])
  process.stderr.write(`${m.adapter} ${m.feature}: ${result.failed.length} failed\n`)
}
console.log('| adapter | feature wiring removed | failing conformance tests |')
console.log('|---|---|---|')
for (const r of rows) console.log(`| ${r.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`)
process.exit(bad === 0 ? 0 : 1)
