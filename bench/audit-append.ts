// Audit log append throughput: one writer awaiting each append, and many concurrent callers
// (group commit), on SQLite and — when DATABASE_URL is set — Postgres. Every append is
// durable (committed; SQLite synchronous=FULL) before its promise resolves.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAuditLog } from '../packages/rampart/src/audit/audit-log.js'
import { openStore } from '../packages/rampart/src/audit/store.js'
import { verifyChain } from '../packages/rampart/src/audit/verify.js'
import { createLogger } from '../packages/rampart/src/logging/logger.js'
import { createRedactor } from '../packages/rampart/src/logging/redact.js'

const key = Buffer.from('k'.repeat(40))

function makeLog(url: string, table: string) {
  const redactor = createRedactor()
  return createAuditLog(
    {
      config: { audit: { db: url, key } },
      logger: createLogger({ service: 'bench', level: 'silent', format: 'json', redactor }),
      redactor,
      fingerprint: () => '0a1b2c3d',
    },
    { table },
  )
}

const entry = (i: number) => ({
  action: 'request.approved',
  target: `request:${i}`,
  actor: 'checker',
  details: { reason: 'looks fine', files: 3 },
})

/** rows/s for `writers` callers each appending `perWriter` rows one after another. */
async function run(
  url: string,
  table: string,
  writers: number,
  perWriter: number,
): Promise<number> {
  const audit = makeLog(url, table)
  await audit.open()
  const t0 = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) await audit.record(entry(w * perWriter + i))
    }),
  )
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  await audit.close()
  return Math.round((writers * perWriter) / seconds)
}

const child = fileURLToPath(new URL('./audit/writer.ts', import.meta.url))

/** rows/s for `procs` processes, each with `writers` concurrent callers, on one database; the chain is verified after. */
async function runProcesses(
  url: string,
  table: string,
  procs: number,
  writers: number,
  per: number,
): Promise<number> {
  const setup = makeLog(url, table)
  await setup.open() // migrate once before the race
  await setup.close()
  const children = Array.from({ length: procs }, () => {
    const c = spawn(process.execPath, ['--import', 'tsx', child], {
      env: {
        ...process.env,
        AUDIT_DB: url,
        AUDIT_TABLE: table,
        WRITERS: String(writers),
        PER: String(per),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    const seen = (word: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => out.includes(word) && resolve()
        c.stdout.on('data', (d) => {
          out += d
          check()
        })
        c.on('exit', (code) =>
          out.includes(word) ? resolve() : reject(new Error(`writer exited ${code}`)),
        )
        check()
      })
    return { c, ready: seen('ready\n'), done: seen('done\n') }
  })
  await Promise.all(children.map((x) => x.ready))
  const t0 = process.hrtime.bigint()
  for (const x of children) x.c.stdin.end('go\n')
  await Promise.all(children.map((x) => x.done))
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const store = await openStore({ url, key, table })
  const result = await verifyChain(store, key)
  await store.shutdown()
  if (!result.ok || result.rows !== procs * writers * per)
    throw new Error(`multi-process chain broken: ${JSON.stringify(result)}`)
  return Math.round((procs * writers * per) / seconds)
}

export default async function auditAppend(): Promise<{ markdown: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-audit-'))
  const rows: string[] = []
  const cases: Array<[string, number, number]> = [
    ['single writer (await each append)', 1, 1000],
    ['64 concurrent callers', 64, 200],
    ['256 concurrent callers', 256, 100],
  ]
  try {
    for (const [label, writers, per] of cases) {
      const rate = await run(`sqlite:${join(dir, `${writers}.db`)}`, 'event_log', writers, per)
      rows.push(`| SQLite | ${label} | ${writers * per} | ${rate.toLocaleString('en')} |`)
      process.stderr.write(`sqlite ${label}: ${rate}/s\n`)
    }
    {
      const rate = await runProcesses(`sqlite:${join(dir, 'procs.db')}`, 'event_log', 3, 64, 50)
      rows.push(
        `| SQLite | 3 processes × 64 concurrent callers (chain verified after) | 9600 | ${rate.toLocaleString('en')} |`,
      )
      process.stderr.write(`sqlite 3 processes: ${rate}/s\n`)
    }
    const pg = process.env.DATABASE_URL
    if (pg) {
      const pgMod = await import('pg')
      for (const [label, writers, per] of cases) {
        const table = `event_log_bench_${randomBytes(4).toString('hex')}`
        try {
          const rate = await run(pg, table, writers, per)
          rows.push(`| Postgres | ${label} | ${writers * per} | ${rate.toLocaleString('en')} |`)
          process.stderr.write(`postgres ${label}: ${rate}/s\n`)
        } finally {
          const c = new pgMod.default.Client({ connectionString: pg })
          await c.connect()
          await c.query(
            `drop table if exists ${table}, ${table}_migration, ${table}_migration_lock; drop function if exists "${table}_append_only"()`,
          )
          await c.end()
        }
      }
      const table = `event_log_bench_${randomBytes(4).toString('hex')}`
      try {
        const rate = await runProcesses(pg, table, 3, 64, 50)
        rows.push(
          `| Postgres | 3 processes × 64 concurrent callers (chain verified after) | 9600 | ${rate.toLocaleString('en')} |`,
        )
        process.stderr.write(`postgres 3 processes: ${rate}/s\n`)
      } finally {
        const c = new pgMod.default.Client({ connectionString: pg })
        await c.connect()
        await c.query(
          `drop table if exists ${table}, ${table}_migration, ${table}_migration_lock; drop function if exists "${table}_append_only"()`,
        )
        await c.end()
      }
    } else rows.push('| Postgres | skipped: DATABASE_URL not set | | |')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const markdown = [
    '### Audit log: appends per second',
    '',
    '| database | writers | rows | appends/s |',
    '|---|---|---:|---:|',
    ...rows,
    '',
  ].join('\n')
  return { markdown }
}
