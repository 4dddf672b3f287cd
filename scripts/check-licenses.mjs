#!/usr/bin/env node
// License allow-list of the production dependency tree (what `npm install rampart` and the airlock
// image bring): every package's SPDX expression must be satisfiable with allowed licenses.
// Usage: node scripts/check-licenses.mjs [query.json]   (default: the output of `npm query .prod`)
// Exit 1 naming each package whose license is missing or not allowed.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Permissive licenses a user of this MIT package can ship without new obligations beyond notices. */
export const ALLOWED = new Set([
  'MIT',
  'ISC',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'CC0-1.0',
  'Unlicense',
])

/** True when the SPDX expression can be met with allowed licenses (OR: one side; AND: both). */
export function allowed(expression) {
  const tokens = expression.replace(/[()]/g, ' $& ').trim().split(/\s+/)
  let i = 0
  const orExpr = () => {
    let ok = andExpr()
    while (tokens[i] === 'OR') {
      i++
      ok = andExpr() || ok
    }
    return ok
  }
  const andExpr = () => {
    let ok = atom()
    while (tokens[i] === 'AND') {
      i++
      ok = atom() && ok
    }
    return ok
  }
  const atom = () => {
    const t = tokens[i++]
    if (t === '(') {
      const ok = orExpr()
      i++ // ')'
      return ok
    }
    return ALLOWED.has(String(t).replace(/\+$/, ''))
  }
  const ok = orExpr()
  return ok && i === tokens.length
}

const file = process.argv[2]
const packages = JSON.parse(
  file
    ? readFileSync(file, 'utf8')
    : execFileSync('npm', ['query', '.prod'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }),
)
const refused = new Set()
let checked = 0
for (const p of packages) {
  if (p.private) continue // the workspace's own unpublished packages
  checked++
  const license = typeof p.license === 'string' ? p.license : p.license?.type
  if (!license || !allowed(license))
    refused.add(`${p.name}@${p.version}: ${license ?? 'no license'}`)
}
if (refused.size > 0) {
  console.error(`licenses: ${refused.size} production dependencies outside the allow-list:`)
  for (const r of refused) console.error(`  ${r}`)
  process.exit(1)
}
console.log(`licenses: ${checked} production dependencies, all in the allow-list`)
