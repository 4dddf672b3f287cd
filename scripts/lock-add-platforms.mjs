#!/usr/bin/env node
// Adds the optional platform packages (other OSes and CPUs) that npm left out of
// package-lock.json, so `npm ci` accepts the lock on every machine. npm sometimes prunes them
// when it writes the lock (npm/cli#8320), and `npm ci` then fails with
// "Missing: @rollup/rollup-darwin-x64@ from lock file". Run it after `npm install` changes the
// lock: `node scripts/lock-add-platforms.mjs`. It only adds entries; versions never change.
// Where the registry this machine reaches does not carry a platform package (it mirrors only
// some), the entry is written from the package's name (os, cpu, libc) without an integrity:
// `npm ci` never fetches it on a platform it does not match, and it then accepts the lock.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

const lockPath = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(lockPath, 'utf8'))
const packages = lock.packages
let added = 0

function view(name, spec) {
  try {
    const meta = JSON.parse(
      execFileSync(
        'npm',
        [
          'view',
          `${name}@${spec}`,
          'version',
          'dist.integrity',
          'os',
          'cpu',
          'libc',
          'license',
          'engines',
          '--json',
        ],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      ),
    )
    return Array.isArray(meta) ? meta[meta.length - 1] : meta
  } catch {
    return undefined
  }
}

const OSES = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'openbsd',
  'openharmony',
  'win32',
  'aix',
  'sunos',
  'netbsd',
]
const CPUS = {
  arm64: 'arm64',
  x64: 'x64',
  arm: 'arm',
  ia32: 'ia32',
  loong64: 'loong64',
  ppc64: 'ppc64',
  riscv64: 'riscv64',
  s390x: 's390x',
}

/** os, cpu and libc read from a platform package's name, e.g. rollup-linux-arm64-musl. */
function fromName(name, spec) {
  if (!/^\d+\.\d+\.\d+/.test(spec))
    throw new Error(`${name}@${spec}: not in the registry and not a pinned version`)
  const parts = name.split('/').pop().split('-')
  const os = parts.find((p) => OSES.includes(p))
  const cpu = parts.map((p) => CPUS[p]).find(Boolean)
  if (!os || !cpu) throw new Error(`${name}: cannot tell its platform from its name`)
  const m = { version: spec, os, cpu }
  if (parts.includes('musl') || parts.includes('musleabihf')) m.libc = 'musl'
  else if (os === 'linux') m.libc = 'glibc'
  return m
}
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path === '' ? '' : `${path}/`
    // npm hoists: the dependency may sit next to its parent or at the top.
    if (packages[`${base}node_modules/${name}`] || packages[`node_modules/${name}`]) continue
    const m = view(name, spec) ?? fromName(name, spec)
    const record = { version: m.version }
    if (m['dist.integrity']) record.integrity = m['dist.integrity']
    for (const key of ['cpu', 'libc', 'os']) if (m[key]) record[key] = [].concat(m[key])
    if (entry.dev) record.dev = true
    if (m.license) record.license = m.license
    record.optional = true
    if (m.engines) record.engines = m.engines
    packages[`node_modules/${name}`] = record
    added++
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
)
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`)
process.stdout.write(`added ${added} platform entries to package-lock.json\n`)
