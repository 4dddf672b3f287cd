import type { ResolvedConfig } from '../config/resolve.js'

/**
 * Limits to pass to `@fastify/multipart` (they are busboy's `limits`). Rampart enforces
 * `MAX_UPLOAD_MB` on the whole multipart body by itself; these bound each piece inside it.
 */
export interface MultipartLimits {
  /** Bytes of one file: `MAX_UPLOAD_MB`. */
  fileSize: number
  /** Files in one request. */
  files: number
  /** Parts (files + fields) in one request. */
  parts: number
  /** Non-file fields in one request. */
  fields: number
  /** Bytes of one non-file field: 64 KiB, or `MAX_BODY_KB` if smaller. */
  fieldSize: number
  /** Bytes of one field name. */
  fieldNameSize: number
  /** Header pairs of one part. */
  headerPairs: number
}

export interface RampartLimits {
  /** `MAX_BODY_KB` in bytes: the body limit of every route that sets none. */
  readonly bodyBytes: number
  /** `MAX_UPLOAD_MB` in bytes: one multipart body, all parts together. */
  readonly uploadBytes: number
  /** Deepest JSON nesting accepted. */
  readonly jsonDepth: number
  /**
   * @example
   * await app.register(multipart, { limits: app.rampart.limits.multipart })
   */
  readonly multipart: Readonly<MultipartLimits>
}

/** The request limits that follow from the configuration. */
export function resolveLimits(
  config: Pick<ResolvedConfig, 'maxBodyBytes' | 'maxUploadBytes'>,
  jsonDepth: number,
): RampartLimits {
  return {
    bodyBytes: config.maxBodyBytes,
    uploadBytes: config.maxUploadBytes,
    jsonDepth,
    multipart: Object.freeze({
      fileSize: config.maxUploadBytes,
      files: 20,
      parts: 100,
      fields: 50,
      fieldSize: Math.min(64 * 1024, config.maxBodyBytes),
      fieldNameSize: 200,
      headerPairs: 100,
    }),
  }
}
