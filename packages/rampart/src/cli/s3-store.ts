import { createReadStream, createWriteStream, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { S3Client } from '@aws-sdk/client-s3'
import { RampartError } from '../errors/rampart-error.js'

/**
 * Backups in S3-compatible storage. Each backup is a "folder" `<prefix>/<id>/` holding the
 * files of a local backup; `manifest.json` is uploaded last and deleted first, so a backup is
 * listed (restorable, counted by retention) exactly when all its files are there: an interrupted
 * upload leaves no half backup behind a manifest (docs/adr/0017-s3-backups.md).
 */

/** `s3://bucket/prefix`, split; `prefix` has no leading or trailing slash and may be empty. */
export interface S3Location {
  bucket: string
  prefix: string
}

/** A backup's id: the UTC time it was taken, sortable as text (`2026-12-06T11-08-40-123Z`). */
const ID = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/
const MANIFEST = 'manifest.json'
/** An incomplete backup this old is a leftover, not an upload still running: retention removes it. */
export const LEFTOVER_AGE_MS = 24 * 3600 * 1000

export function isS3Url(value: string): boolean {
  return value.startsWith('s3://')
}

/** Parses `s3://bucket[/prefix]`; a malformed URL is one usage line naming `what`. */
export function parseS3Url(what: string, url: string): S3Location {
  // eslint-disable-next-line security/detect-unsafe-regex -- the operator's command-line argument, never request input
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url)
  const prefix = (m?.[2] ?? '').replace(/^\/+|\/+$/g, '')
  if (!m || prefix.includes('//'))
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      `${what}: got "${url.slice(0, 80)}"; expected s3://<bucket>/<prefix> (bucket: 3-63 lower-case letters, digits, dots or hyphens)`,
    )
  return { bucket: m[1] as string, prefix }
}

export const s3Url = (loc: S3Location, ...parts: string[]) =>
  `s3://${loc.bucket}/${[loc.prefix, ...parts].filter(Boolean).join('/')}`

/** A new backup id for the current time. */
export function backupId(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, '-')
}

type Sdk = typeof import('@aws-sdk/client-s3')
type Storage = typeof import('@aws-sdk/lib-storage')

/**
 * Loads the AWS SDK on first use: it is an optional dependency, needed only for s3:// backups.
 * A missing package is one line naming it.
 */
export async function loadS3Sdk(
  load: (name: string) => Promise<unknown> = (name) => import(name),
): Promise<{ sdk: Sdk; storage: Storage }> {
  const one = async <T>(name: string): Promise<T> => {
    try {
      return (await load(name)) as T
    } catch (cause) {
      throw new RampartError(
        'ERR_RAMPART_USAGE',
        `s3:// backups need the optional package ${name}; install it (npm install @aws-sdk/client-s3 @aws-sdk/lib-storage)`,
        { cause },
      )
    }
  }
  return {
    sdk: await one<Sdk>('@aws-sdk/client-s3'),
    storage: await one<Storage>('@aws-sdk/lib-storage'),
  }
}

/**
 * A client configured from the standard AWS variables of `env`: AWS_REGION (or
 * AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (else the
 * SDK's own chain: profiles, instance roles), AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) for
 * S3-compatible storage, which is then addressed path-style (`<endpoint>/<bucket>/<key>`), the
 * form every S3-compatible server understands.
 */
export function s3Client(sdk: Sdk, env: NodeJS.ProcessEnv): S3Client {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION
  if (!region)
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      'AWS_REGION: not set; s3:// backups need the bucket region (any value, e.g. us-east-1, for most S3-compatible servers)',
    )
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = env
  return new sdk.S3Client({
    region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(id && secret
      ? {
          credentials: {
            accessKeyId: id,
            secretAccessKey: secret,
            ...(token ? { sessionToken: token } : {}),
          },
        }
      : {}),
    maxAttempts: 3,
  })
}

/** An S3 error as one line: the service's code and message, never its stack or request ids. */
export function s3Failure(action: string, err: unknown): RampartError {
  const e = err as { name?: string; Code?: string; message?: string; code?: string }
  const detail = [e.Code ?? e.name, e.message?.split('\n')[0]].filter(Boolean).join(': ')
  return new RampartError('ERR_RAMPART_INTERNAL', `${action} failed: ${detail || String(err)}`, {
    cause: err,
  })
}

interface Listed {
  key: string
  lastModified: number
}

/** The backups under one prefix, in S3-compatible storage. */
export class S3Backups {
  constructor(
    private readonly sdk: Sdk,
    private readonly storage: Storage,
    private readonly client: S3Client,
    readonly loc: S3Location,
  ) {}

  #key(...parts: string[]): string {
    return [this.loc.prefix, ...parts].filter(Boolean).join('/')
  }

  /** Every object under the prefix (all pages). */
  async #list(under: string): Promise<Listed[]> {
    const out: Listed[] = []
    let token: string | undefined
    do {
      const page = await this.client
        .send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.loc.bucket,
            Prefix: under,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        )
        .catch((err: unknown) => {
          throw s3Failure(`listing ${s3Url({ bucket: this.loc.bucket, prefix: under })}`, err)
        })
      for (const o of page.Contents ?? [])
        if (o.Key) out.push({ key: o.Key, lastModified: o.LastModified?.getTime() ?? 0 })
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return out
  }

  /** Ids of the complete backups (those with a manifest), newest first, and every id's objects. */
  async inventory(): Promise<{ complete: string[]; objects: Map<string, Listed[]> }> {
    const base = this.loc.prefix === '' ? '' : `${this.loc.prefix}/`
    const objects = new Map<string, Listed[]>()
    const complete: string[] = []
    for (const o of await this.#list(base)) {
      const [id, ...rest] = o.key.slice(base.length).split('/')
      if (id === undefined || !ID.test(id) || rest.length === 0) continue
      objects.set(id, [...(objects.get(id) ?? []), o])
      if (rest.join('/') === MANIFEST) complete.push(id)
    }
    return { complete: complete.sort().reverse(), objects }
  }

  /**
   * Uploads the files of a local backup under `<prefix>/<id>/`, the manifest last. Each file goes
   * up through lib-storage's `Upload` (multipart above 5 MB; a failed multipart upload is aborted,
   * so its parts do not linger), reporting bytes sent to `progress`.
   */
  async upload(
    dir: string,
    files: readonly string[],
    id: string,
    progress: (bytes: number) => void,
    step: (line: string) => void,
  ): Promise<void> {
    let before = 0
    for (const file of [...files.filter((f) => f !== MANIFEST).sort(), MANIFEST]) {
      const key = this.#key(id, file)
      const size = statSync(join(dir, file)).size
      step(`uploading ${file} (${size} bytes) to ${s3Url({ ...this.loc, prefix: '' }, key)}`)
      const upload = new this.storage.Upload({
        client: this.client,
        params: { Bucket: this.loc.bucket, Key: key, Body: createReadStream(join(dir, file)) },
      })
      const sent = before
      upload.on('httpUploadProgress', (p) => progress(sent + (p.loaded ?? 0)))
      await upload.done().catch((err: unknown) => {
        throw s3Failure(`upload of ${file}`, err)
      })
      before += size
      progress(before)
    }
  }

  /**
   * Keeps the newest `keep` complete backups and deletes the rest, each one's manifest first (so
   * a deletion cut short leaves an unlisted leftover, never a listed backup with files missing).
   * Leftovers of interrupted uploads older than a day are deleted too. Returns the ids removed.
   */
  async retain(keep: number, now = Date.now()): Promise<string[]> {
    const { complete, objects } = await this.inventory()
    const removed: string[] = []
    for (const id of complete.slice(keep)) {
      await this.#delete([this.#key(id, MANIFEST)])
      await this.#delete((objects.get(id) ?? []).map((o) => o.key))
      removed.push(id)
    }
    for (const [id, listed] of objects) {
      if (complete.includes(id)) continue
      if (listed.every((o) => now - o.lastModified > LEFTOVER_AGE_MS)) {
        await this.#delete(listed.map((o) => o.key))
        removed.push(id)
      }
    }
    return removed
  }

  async #delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000)
      if (batch.length === 0) continue
      const res = await this.client
        .send(
          new this.sdk.DeleteObjectsCommand({
            Bucket: this.loc.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        )
        .catch((err: unknown) => {
          throw s3Failure('deleting old backups', err)
        })
      const first = res.Errors?.[0]
      if (first)
        throw s3Failure(`deleting ${first.Key}`, { name: first.Code, message: first.Message })
    }
  }

  /**
   * The backup a URL names: `s3://bucket/prefix/<id>` is that backup, `s3://bucket/prefix` the
   * newest complete one under it. Undefined when there is none.
   */
  async resolve(): Promise<{ backups: S3Backups; id: string } | undefined> {
    const parts = this.loc.prefix.split('/')
    const last = parts.at(-1) ?? ''
    if (ID.test(last)) {
      const parent = new S3Backups(this.sdk, this.storage, this.client, {
        bucket: this.loc.bucket,
        prefix: parts.slice(0, -1).join('/'),
      })
      const { complete } = await parent.inventory()
      return complete.includes(last) ? { backups: parent, id: last } : undefined
    }
    const newest = (await this.inventory()).complete[0]
    return newest === undefined ? undefined : { backups: this, id: newest }
  }

  /** Downloads one file of backup `id` to `dest`. */
  async download(id: string, file: string, dest: string): Promise<void> {
    const key = this.#key(id, file)
    try {
      const res = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.loc.bucket, Key: key }),
      )
      await pipeline(res.Body as Readable, createWriteStream(dest))
    } catch (err) {
      throw s3Failure(`download of ${s3Url({ ...this.loc, prefix: '' }, key)}`, err)
    }
  }
}

/** Opens the backups at an s3:// URL: loads the SDK and builds the client from `env`. */
export async function openS3Backups(
  what: string,
  url: string,
  env: NodeJS.ProcessEnv,
): Promise<S3Backups> {
  const loc = parseS3Url(what, url)
  const { sdk, storage } = await loadS3Sdk()
  return new S3Backups(sdk, storage, s3Client(sdk, env), loc)
}
