import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { HttpError, withSpan } from 'rampart'
import type { NewFile } from './requests.js'

/** What the upload store needs from a multipart part (`@fastify/multipart`'s `MultipartFile`). */
export interface UploadedPart {
  filename: string
  file: NodeJS.ReadableStream & { truncated?: boolean }
  /** Reads the rest of the form once the file is stored; rejects when the form breaks a limit. */
  finish?: () => Promise<void>
}

/** A display name from the client's file name: no directories, no control characters, ≤ 200 chars. */
export function displayName(filename: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const name = basename(filename.replaceAll('\\', '/')).replace(/[\u0000-\u001f\u007f]/g, '')
  return (name || 'upload').slice(0, 200)
}

/**
 * Streams one uploaded file to `dir` under a generated name (never the client's), hashing it
 * on the way, inside the `upload.store` span. Nothing is buffered whole; a file over the
 * limit is removed and answered with 413.
 */
export async function storeUpload(
  dir: string,
  part: UploadedPart,
  limitBytes: number,
): Promise<NewFile> {
  return withSpan('upload.store', { 'upload.limit_bytes': limitBytes }, async () => {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- DATA_DIR/uploads, the operator's
    await mkdir(dir, { recursive: true })
    const id = randomUUID()
    const storedName = `${id}.bin`
    const path = join(dir, storedName)
    const hash = createHash('sha256')
    let size = 0
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length
        hash.update(chunk)
        done(null, chunk)
      },
    })
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- a random UUID name, never the client's
      await pipeline(part.file, meter, createWriteStream(path, { flags: 'wx', mode: 0o600 }))
    } catch (err) {
      await rm(path, { force: true })
      if (isTooLarge(err)) throw tooLarge(limitBytes, err)
      throw err
    }
    if (part.file.truncated) {
      await rm(path, { force: true })
      throw tooLarge(limitBytes)
    }
    return {
      id,
      name: displayName(part.filename),
      stored_name: storedName,
      size,
      sha256: hash.digest('hex'),
    }
  })
}

function isTooLarge(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'FST_REQ_FILE_TOO_LARGE'
}

function tooLarge(limitBytes: number, cause?: unknown): HttpError {
  const mib = Math.floor(limitBytes / 1_048_576)
  return new HttpError(413, {
    detail: `The file is larger than the upload limit of ${mib >= 1 ? `${mib} MiB` : `${limitBytes} bytes`}.`,
    cause,
  })
}
