import { existsSync, mkdirSync } from 'node:fs'
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuditLog } from '../../src/audit/audit-log.js'
import { loadS3Sdk, S3Backups } from '../../src/cli/s3-store.js'
import { createLogger } from '../../src/logging/logger.js'
import { createRedactor } from '../../src/logging/redact.js'
import { faultyProxy, s3Env, startS3 } from '../support/s3.js'
import { AUDIT_KEY, cli, tempDir } from './helpers.js'

const BUCKET = 'rampart-backups'
const tmp = tempDir()
let s3: Awaited<ReturnType<typeof startS3>>
let client: S3Client
let n = 0

beforeAll(async () => {
  s3 = await startS3(BUCKET)
  client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.env.AWS_ENDPOINT_URL_S3,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  })
})
afterAll(async () => {
  client?.destroy()
  await s3?.close()
  tmp.cleanup()
})

async function seed(url: string, rows: number): Promise<void> {
  const redactor = createRedactor()
  const audit = createAuditLog({
    config: { audit: { db: url, key: Buffer.from(AUDIT_KEY) } },
    logger: createLogger({ service: 't', level: 'silent', format: 'json', redactor }),
    redactor,
    fingerprint: () => 'ffffffff',
  })
  await Promise.all(
    Array.from({ length: rows }, (_, i) =>
      audit.record({ action: 'doc.read', target: `doc:${i}` }),
    ),
  )
  await audit.close()
}

function appDb(path: string, value: string, padBytes = 0): void {
  const d = new Database(path)
  d.exec('create table if not exists kv (k text primary key, v text)')
  d.prepare('insert or replace into kv values (?, ?)').run('k', value)
  if (padBytes > 0)
    d.prepare('insert or replace into kv values (?, ?)').run('pad', 'x'.repeat(padBytes))
  d.close()
}

/** Keys under a prefix, grouped by backup folder. */
async function listed(prefix: string): Promise<Map<string, string[]>> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }))
  const out = new Map<string, string[]>()
  for (const o of res.Contents ?? []) {
    const [id, file] = (o.Key ?? '').slice(prefix.length + 1).split('/') as [string, string]
    out.set(id, [...(out.get(id) ?? []), file].sort())
  }
  return out
}

function fixture() {
  const dir = `${tmp.dir}/s3-${n++}`
  mkdirSync(dir)
  return {
    dir,
    db: ['--db', `sqlite:${dir}/audit.db`, '--app-db', `sqlite:${dir}/app.db`],
    env: { ...s3.env, DATA_DIR: `${dir}/data` },
  }
}

describe('rampart backup --out s3:// / restore s3://', () => {
  it('three backups with --keep 2 leave exactly 2; restore takes the newest, or the one named, and the chain verifies', async () => {
    const f = fixture()
    const ids: string[] = []
    // Someone else's object under the prefix: retention never touches what is not a backup.
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'nightly/notes/README.txt', Body: 'hands off' }),
    )
    for (let i = 1; i <= 3; i++) {
      await seed(`sqlite:${f.dir}/audit.db`, 5) // 5, 10, 15 rows
      appDb(`${f.dir}/app.db`, `version ${i}`)
      const r = await cli(['backup', '--out', `s3://${BUCKET}/nightly`, '--keep', '2', ...f.db], {
        env: f.env,
      })
      expect(r.code, r.stderr).toBe(0)
      const m = new RegExp(
        `^backed up audit \\(${i * 5} rows, head [0-9a-f]{64}\\) and app \\(sqlite:.*\\) to s3://${BUCKET}/nightly/(\\S+)\\n$`,
      ).exec(r.stdout)
      expect(m, r.stdout).not.toBeNull()
      ids.push(m?.[1] as string)
      // No terminal: one line per step on stderr, the manifest uploaded last.
      const steps = r.stderr.trim().split('\n')
      expect(steps[0]).toMatch(/^verified local copy: audit \(\d+ rows/)
      expect(steps.filter((l) => l.startsWith('uploading '))).toEqual([
        expect.stringMatching(/^uploading app\.db \(\d+ bytes\)/),
        expect.stringMatching(/^uploading audit\.db \(\d+ bytes\)/),
        expect.stringMatching(
          new RegExp(
            `^uploading manifest\\.json \\(\\d+ bytes\\) to s3://${BUCKET}/nightly/${ids[i - 1]}/manifest\\.json$`,
          ),
        ),
      ])
      expect(steps.at(-1)).toBe(
        `retention: kept the newest 2, removed ${i === 3 ? ids[0] : 'none'}`,
      )
    }
    const kept = await listed('nightly')
    expect(kept.get('notes')).toEqual(['README.txt'])
    kept.delete('notes')
    expect([...kept.keys()].sort()).toEqual([ids[1], ids[2]])
    for (const files of kept.values())
      expect(files).toEqual(['app.db', 'audit.db', 'manifest.json'])

    // Restoring needs the same confirmation as a local backup.
    const target = [
      '--db',
      `sqlite:${f.dir}/fresh/audit.db`,
      '--app-db',
      `sqlite:${f.dir}/fresh/app.db`,
    ]
    const refused = await cli(['restore', `s3://${BUCKET}/nightly`, ...target], { env: f.env })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /refusing to overwrite .* without confirmation; pass --yes \(no terminal to ask\)\n$/,
    )
    expect(existsSync(`${f.dir}/fresh/audit.db`)).toBe(false)

    const newest = await cli(['restore', `s3://${BUCKET}/nightly`, '--yes', ...target], {
      env: f.env,
    })
    expect(newest.code, newest.stderr).toBe(0)
    expect(newest.stdout).toMatch(/verified 15 rows, head [0-9a-f]{64}\n$/)
    expect(newest.stderr).toContain(`restoring s3://${BUCKET}/nightly/${ids[2]}\n`)
    const head = /head ([0-9a-f]{64})/.exec(newest.stdout)?.[1] as string
    const verify = await cli(
      ['audit', 'verify', '--db', `sqlite:${f.dir}/fresh/audit.db`, '--expect-head', head],
      { env: f.env },
    )
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    const app = new Database(`${f.dir}/fresh/app.db`, { readonly: true })
    expect(app.prepare("select v from kv where k = 'k'").get()).toEqual({ v: 'version 3' })
    app.close()

    // A full backup URL restores that backup.
    const named = await cli(['restore', `s3://${BUCKET}/nightly/${ids[1]}`, '--yes', ...target], {
      env: f.env,
    })
    expect(named.code, named.stderr).toBe(0)
    expect(named.stdout).toMatch(/verified 10 rows/)
    // The one retention removed is gone.
    const gone = await cli(['restore', `s3://${BUCKET}/nightly/${ids[0]}`, '--yes', ...target], {
      env: f.env,
    })
    expect(gone.code).toBe(2)
    expect(gone.stderr).toBe(
      `rampart restore: no backup at s3://${BUCKET}/nightly/${ids[0]} (no complete backup: none with a manifest.json)\n`,
    )
  })

  it('an upload cut mid-way fails in one line and leaves no backup listed; retention clears the leftover after a day', async () => {
    const f = fixture()
    await seed(`sqlite:${f.dir}/audit.db`, 20)
    // An app database of about 12 MB: uploaded in parts, and cut in its second part.
    appDb(`${f.dir}/app.db`, 'big', 12 * 1024 * 1024)
    const proxy = await faultyProxy(s3.port, (req) => /partNumber=2/.test(req.url ?? ''))
    try {
      const r = await cli(['backup', '--out', `s3://${BUCKET}/cut`, '--keep', '2', ...f.db], {
        env: { ...f.env, ...s3Env(proxy.port) },
      })
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(
        /^rampart backup: upload of app\.db failed: /,
      )
      expect(proxy.cuts).toBeGreaterThan(0)
    } finally {
      await proxy.close()
    }
    // Nothing restorable: there is no manifest.
    const restore = await cli(['restore', `s3://${BUCKET}/cut`, '--yes', ...f.db], { env: f.env })
    expect(restore.code).toBe(2)
    expect(restore.stderr).toMatch(/no backup at s3:\/\/rampart-backups\/cut \(no complete backup/)

    // A leftover (files, no manifest) stays while it could be an upload in progress, and goes
    // once it is a day old.
    const leftover = 'cut/2026-01-01T00-00-00-000Z/audit.db'
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: leftover, Body: 'partial' }))
    const { sdk, storage } = await loadS3Sdk()
    const backups = new S3Backups(sdk, storage, client, { bucket: BUCKET, prefix: 'cut' })
    expect(await backups.retain(2)).toEqual([])
    expect((await listed('cut')).has('2026-01-01T00-00-00-000Z')).toBe(true)
    expect(await backups.retain(2, Date.now() + 25 * 3600 * 1000)).toContain(
      '2026-01-01T00-00-00-000Z',
    )
    expect((await listed('cut')).has('2026-01-01T00-00-00-000Z')).toBe(false)
  })

  it('a cut before the manifest leaves the files but no listed backup', async () => {
    const f = fixture()
    await seed(`sqlite:${f.dir}/audit.db`, 3)
    const proxy = await faultyProxy(
      s3.port,
      (req) => req.method === 'PUT' && /manifest\.json/.test(req.url ?? ''),
    )
    try {
      const r = await cli(['backup', '--out', `s3://${BUCKET}/late`, ...f.db.slice(0, 2)], {
        env: { ...f.env, ...s3Env(proxy.port) },
      })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/rampart backup: upload of manifest\.json failed: .*\n$/)
    } finally {
      await proxy.close()
    }
    const [files] = [...(await listed('late')).values()]
    expect(files).toEqual(['audit.db'])
    const restore = await cli(['restore', `s3://${BUCKET}/late`, '--yes', ...f.db], { env: f.env })
    expect(restore.stderr).toMatch(/no backup at s3:\/\/rampart-backups\/late/)
  })

  it('on a terminal: a progress bar of the bytes uploaded instead of step lines', async () => {
    const f = fixture()
    await seed(`sqlite:${f.dir}/audit.db`, 3)
    appDb(`${f.dir}/app.db`, 'big', 12 * 1024 * 1024)
    // A slow link: each part of the multipart upload takes 1.5 s, so the bar (drawn once an
    // upload runs for more than a second) shows.
    const proxy = await faultyProxy(
      s3.port,
      () => false,
      (req) => (/partNumber=/.test(req.url ?? '') ? 1500 : 0),
    )
    try {
      const r = await cli(['backup', '--out', `s3://${BUCKET}/tty`, ...f.db], {
        env: { ...f.env, ...s3Env(proxy.port) },
        stderrTty: true,
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).not.toMatch(/uploading \S+ \(/)
      expect(r.stderr).toMatch(/\ruploading \[#*-*\] \d+\/\d+ \d+\/s /)
      expect(r.stderr.endsWith('\n')).toBe(true)
    } finally {
      await proxy.close()
    }
  })

  it('bad input is one line and a usage exit: URL, --keep, missing region, missing SDK package', async () => {
    const f = fixture()
    await seed(`sqlite:${f.dir}/audit.db`, 1)
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [
        ['backup', '--out', 's3://A_b/x', ...f.db],
        {},
        /^rampart backup: --out: got "s3:\/\/A_b\/x"; expected s3:\/\/<bucket>\/<prefix>/,
      ],
      [
        ['backup', '--out', `s3://${BUCKET}/x`, '--keep', '0', ...f.db],
        {},
        /^rampart backup: --keep: got "0"; expected a whole number ≥ 1\n$/,
      ],
      [
        ['backup', '--out', `${f.dir}/local`, '--keep', '2', ...f.db],
        {},
        /^rampart backup: --keep applies to s3:\/\/ destinations only\n$/,
      ],
      [
        ['backup', '--out', `s3://${BUCKET}/x`, ...f.db],
        { AWS_REGION: '' },
        /^rampart backup: AWS_REGION: not set;/,
      ],
      [['restore', 's3://', '--yes'], {}, /^rampart restore: backup: got "s3:\/\/"; expected/],
    ]
    for (const [args, env, message] of cases) {
      const r = await cli(args, { env: { ...f.env, ...env } })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(message)
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
    // A manifest from the bucket is input too: a file name that would leave the download folder
    // is refused before anything is downloaded or overwritten.
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'evil/2026-01-01T00-00-00-000Z/manifest.json',
        Body: JSON.stringify({
          version: 1,
          created_at: '2026-01-01T00:00:00Z',
          audit: {
            kind: 'sqlite',
            file: '../../escaped.db',
            table: 'event_log',
            rows: 1,
            head: '',
          },
        }),
      }),
    )
    const evil = await cli(['restore', `s3://${BUCKET}/evil`, '--yes', ...f.db], { env: f.env })
    expect(evil.code).toBe(2)
    expect(evil.stderr).toMatch(
      /\nrampart restore: .*manifest\.json: not a backup manifest \(files must be among audit\.db, audit\.dump, app\.db, app\.dump; got "\.\.\/\.\.\/escaped\.db"\)\n$/,
    )

    // A backup whose data file went missing after its manifest was written: one line naming it.
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'gap/2026-01-01T00-00-00-000Z/manifest.json',
        Body: JSON.stringify({
          version: 1,
          created_at: '2026-01-01T00:00:00Z',
          audit: { kind: 'sqlite', file: 'audit.db', table: 'event_log', rows: 1, head: '' },
        }),
      }),
    )
    const gap = await cli(['restore', `s3://${BUCKET}/gap`, '--yes', ...f.db], { env: f.env })
    expect(gap.code).toBe(1)
    expect(gap.stderr).toMatch(
      /\nrampart restore: download of s3:\/\/rampart-backups\/gap\/2026-01-01T00-00-00-000Z\/audit\.db failed: NoSuchKey: .*\n$/,
    )
    // The target was not touched: it still holds its own one row.
    const still = await cli(['audit', 'verify', '--db', `sqlite:${f.dir}/audit.db`], { env: f.env })
    expect(still.stdout).toMatch(/^verified 1 rows, head /)

    await expect(
      loadS3Sdk(async (name) => {
        if (name === '@aws-sdk/lib-storage') throw new Error(`Cannot find package '${name}'`)
        return {}
      }),
    ).rejects.toThrow(
      /^s3:\/\/ backups need the optional package @aws-sdk\/lib-storage; install it \(npm install @aws-sdk\/client-s3 @aws-sdk\/lib-storage\)$/,
    )
  })
})
