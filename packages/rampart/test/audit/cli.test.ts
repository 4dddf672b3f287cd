import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuditLog } from '../../src/audit/audit-log.js'
import { createLogger } from '../../src/logging/logger.js'
import { createRedactor } from '../../src/logging/redact.js'
import { service } from '../support/services.js'
import {
  AUDIT_KEY,
  cli,
  dropAppendOnlySql,
  dropAuditTableSql,
  tempDir,
  uniqueTable,
} from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const pgUrl = service('DATABASE_URL')
let n = 0

async function seed(url: string, rows: number, table?: string): Promise<void> {
  const redactor = createRedactor()
  const audit = createAuditLog(
    {
      config: { audit: { db: url, key: Buffer.from(AUDIT_KEY) } },
      logger: createLogger({ service: 't', level: 'silent', format: 'json', redactor }),
      redactor,
      fingerprint: () => 'ffffffff',
    },
    table ? { table } : {},
  )
  await Promise.all(
    Array.from({ length: rows }, (_, i) =>
      audit.record({ action: 'doc.read', target: `doc:${i}` }),
    ),
  )
  await audit.close()
}

function appDb(path: string, value: string): void {
  const d = new Database(path)
  d.exec('create table if not exists kv (k text primary key, v text)')
  d.prepare('insert or replace into kv values (?, ?)').run('k', value)
  d.close()
}

describe('rampart backup / restore', () => {
  it('backup then restore into a fresh location reproduces a chain that verifies, with the app database', async () => {
    const dir = `${tmp.dir}/br-${n++}`
    const env = { DATA_DIR: `${dir}/data` }
    await seed(`sqlite:${dir}-audit.db`, 50)
    appDb(`${dir}-app.db`, 'original')
    const backup = await cli(
      [
        'backup',
        '--out',
        `${dir}/backup`,
        '--db',
        `sqlite:${dir}-audit.db`,
        '--app-db',
        `sqlite:${dir}-app.db`,
      ],
      { env },
    )
    expect(backup.stderr).toBe('')
    expect(backup.code).toBe(0)
    const manifest = JSON.parse(readFileSync(`${dir}/backup/manifest.json`, 'utf8'))
    expect(manifest.audit).toMatchObject({ kind: 'sqlite', rows: 50 })

    const target = [
      '--db',
      `sqlite:${dir}/fresh/audit.db`,
      '--app-db',
      `sqlite:${dir}/fresh/app.db`,
    ]
    const { mkdirSync } = await import('node:fs')
    mkdirSync(`${dir}/fresh`)
    const refused = await cli(['restore', `${dir}/backup`, ...target], { env })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /refusing to overwrite .* without confirmation; pass --yes \(no terminal to ask\)\n$/,
    )
    expect(existsSync(`${dir}/fresh/audit.db`)).toBe(false)

    const restored = await cli(['restore', `${dir}/backup`, '--yes', ...target], { env })
    expect(restored.stdout).toMatch(new RegExp(`verified 50 rows, head ${manifest.audit.head}\\n$`))
    expect(restored.code).toBe(0)
    const verify = await cli([
      'audit',
      'verify',
      '--db',
      `sqlite:${dir}/fresh/audit.db`,
      '--expect-head',
      manifest.audit.head,
    ])
    expect(verify.code).toBe(0)
    const d = new Database(`${dir}/fresh/app.db`, { readonly: true })
    expect(d.prepare('select v from kv').get()).toEqual({ v: 'original' })
    d.close()
  })

  it('restore over a live location replaces its rows and refuses a broken chain afterwards', async () => {
    const dir = `${tmp.dir}/br-${n++}`
    const env = { DATA_DIR: `${dir}/data` }
    await seed(`sqlite:${dir}-audit.db`, 5)
    expect(
      (await cli(['backup', '--out', `${dir}/b`, '--db', `sqlite:${dir}-audit.db`], { env })).code,
    ).toBe(0)
    await seed(`sqlite:${dir}-audit.db`, 5) // 10 rows now
    const r = await cli(['restore', `${dir}/b`, '--yes', '--db', `sqlite:${dir}-audit.db`], { env })
    expect(r.stdout).toMatch(/verified 5 rows/)
    expect(r.code).toBe(0)
    // tamper with the backup: restore still copies it, but says the chain is broken and exits 1
    const d = new Database(`${dir}/b/audit.db`)
    // An attacker with write access drops the append-only triggers first.
    for (const drop of dropAppendOnlySql('sqlite', 'event_log')) d.exec(drop)
    d.prepare("update event_log set actor = 'x' where id = 2").run()
    d.close()
    const bad = await cli(['restore', `${dir}/b`, '--yes', '--db', `sqlite:${dir}-audit.db`], {
      env,
    })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/first bad row: 2/)
  })

  it.skipIf(!pgUrl)(
    'backs up and restores a Postgres audit table with pg_dump / pg_restore',
    async () => {
      const table = uniqueTable()
      const dbName = `rampart_restore_${table.slice(-10)}`
      const pg = await import('pg')
      const admin = new pg.default.Client({ connectionString: pgUrl })
      await admin.connect()
      const fresh = new URL(pgUrl as string)
      fresh.pathname = `/${dbName}`
      try {
        await seed(pgUrl as string, 20, table)
        await admin.query(`create database ${dbName}`)
        const dir = `${tmp.dir}/pg-${n++}`
        const env = { DATA_DIR: `${dir}/data` }
        const b = await cli(['backup', '--out', dir, '--db', pgUrl as string, '--table', table], {
          env,
        })
        expect(b.stderr).toBe('')
        expect(b.code).toBe(0)
        const r = await cli(['restore', dir, '--yes', '--db', fresh.toString()], { env })
        expect(r.stderr).toBe('')
        expect(r.stdout).toMatch(/verified 20 rows/)
        expect(r.code).toBe(0)
      } finally {
        await admin.query(dropAuditTableSql(table))
        await admin.query(`drop database if exists ${dbName}`)
        await admin.end()
      }
    },
  )

  it('a bad path or URL gives one clear line and a non-zero exit', async () => {
    const env = { DATA_DIR: `${tmp.dir}/nothing` }
    const cases: Array<[string[], RegExp]> = [
      [
        ['audit', 'verify', '--db', `sqlite:${tmp.dir}/missing.db`],
        /^rampart audit verify: no audit database at .*missing\.db\n$/,
      ],
      [
        ['audit', 'verify', '--db', 'mysql://x'],
        /^rampart audit verify: --db: got "mysql:\/\/x"; expected sqlite:<path> or a postgres:\/\/ URL\n$/,
      ],
      [
        ['backup', '--out', `${tmp.dir}/b-bad`, '--db', `sqlite:${tmp.dir}/missing.db`],
        /^rampart backup: no audit database at .*missing\.db\n$/,
      ],
      [
        ['backup', '--out', `${tmp.dir}/b-bad`, '--db', 'ftp://x'],
        /^rampart backup: --db: got "ftp:\/\/x"; expected/,
      ],
      [
        ['restore', `${tmp.dir}/no-such-backup`, '--yes'],
        /^rampart restore: .*no-such-backup is not a backup \(no manifest\.json\)\n$/,
      ],
      [
        ['audit', 'verify', '--db', 'postgres://postgres@127.0.0.1:1/none'],
        /^rampart audit verify: cannot read the audit table of postgres:\/\/\*\*\*@127\.0\.0\.1:1\/none: .*\n$/,
      ],
    ]
    for (const [args, message] of cases) {
      const r = await cli(args, { env })
      expect(r.code, args.join(' ')).not.toBe(0)
      expect(r.stderr, args.join(' ')).toMatch(message)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    expect(existsSync(`${tmp.dir}/b-bad`)).toBe(false)
  })

  it('refuses to guess a key: no AUDIT_KEY, SECRET_KEY or development secret is one line', async () => {
    const r = await cli(['audit', 'verify', '--db', 'sqlite:x.db'], {
      env: { AUDIT_KEY: '', DATA_DIR: `${tmp.dir}/empty` },
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^rampart audit verify: no audit key: set AUDIT_KEY or SECRET_KEY/)
  })

  it('--help works on every command', async () => {
    for (const name of [
      ['audit', 'verify'],
      ['audit', 'tail'],
      ['audit', 'export'],
      ['backup'],
      ['restore'],
    ]) {
      const r = await cli([...name, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`Usage: rampart ${name.join(' ')}`)
    }
  })
})

describe('rampart audit export / tail', () => {
  it('export writes every row as JSON lines', async () => {
    const db = `${tmp.dir}/export.db`
    await seed(`sqlite:${db}`, 30)
    const r = await cli([
      'audit',
      'export',
      '--db',
      `sqlite:${db}`,
      '--out',
      `${tmp.dir}/out.jsonl`,
    ])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('exported 30 rows\n')
    const lines = readFileSync(`${tmp.dir}/out.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => l.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(lines[0]).toHaveProperty('hash')
    const after = await cli(['audit', 'export', '--db', `sqlite:${db}`, '--after', '25'])
    expect(after.stdout.trim().split('\n')).toHaveLength(5)
  })

  it('tail prints the last rows and follows new ones', async () => {
    const db = `${tmp.dir}/tail.db`
    await seed(`sqlite:${db}`, 12)
    const bin = fileURLToPath(new URL('../../bin/rampart.js', import.meta.url))
    const child = spawn(
      process.execPath,
      [bin, 'audit', 'tail', '--db', `sqlite:${db}`, '-n', '3', '--interval', '50'],
      {
        env: { ...process.env, AUDIT_KEY },
      },
    )
    let out = ''
    const waiters: Array<() => void> = []
    child.stdout.on('data', (d) => {
      out += d
      for (const w of waiters) w()
    })
    const waitFor = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (out.trim().split('\n').filter(Boolean).length >= count) resolve()
        }
        waiters.push(check)
        check()
      })
    try {
      await waitFor(3)
      expect(
        out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).id),
      ).toEqual([10, 11, 12])
      await seed(`sqlite:${db}`, 2)
      await waitFor(5)
      expect(
        out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).id),
      ).toEqual([10, 11, 12, 13, 14])
    } finally {
      child.kill('SIGINT')
    }
  })
})
