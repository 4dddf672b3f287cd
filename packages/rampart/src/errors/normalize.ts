import { HttpError } from './http-error.js'

/** A field error of a 422 answer. */
export interface FieldError {
  field: string
  message: string
}

/**
 * The client-facing text for errors raised by the framework and its parsers, keyed by their
 * stable `code`. The library's own message is never shown: it can name files, modules or
 * internals, and it is not written for the client.
 */
const KNOWN_CODES: Readonly<Record<string, { status: number; detail: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    detail: 'The request body is larger than this endpoint accepts.',
  },
  FST_REQ_FILE_TOO_LARGE: {
    status: 413,
    detail: 'The upload is larger than this service accepts.',
  },
  FST_PARTS_LIMIT: { status: 413, detail: 'The upload has more parts than this service accepts.' },
  FST_FILES_LIMIT: { status: 413, detail: 'The upload has more files than this service accepts.' },
  FST_FIELDS_LIMIT: {
    status: 413,
    detail: 'The upload has more fields than this service accepts.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    detail: 'This endpoint does not accept a body of that Content-Type.',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, detail: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    detail: 'The Content-Type is application/json but the body is empty.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    detail: 'The Content-Length does not match the body.',
  },
  FST_INVALID_MULTIPART_CONTENT_TYPE: {
    status: 406,
    detail: 'The request is not a multipart upload.',
  },
  FST_ERR_BAD_URL: { status: 400, detail: 'The request URL is malformed.' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, detail: 'A part of the request URL is too long.' },
  ERR_RAMPART_JSON_TOO_DEEP: { status: 400, detail: 'The JSON body is nested too deeply.' },
}

/**
 * Multipart parsers (busboy, @fastify/busboy) reject a malformed body with a plain `Error` and
 * no code; without this list a client's broken upload would be a 500.
 */
const MULTIPART_PARSE_ERRORS =
  /^(Multipart: Boundary not found|Unexpected end of (multipart data|form)|Malformed part header|Unsupported Content-Type|Malformed urlencoded form)/

interface ZodLikeIssue {
  path: ReadonlyArray<PropertyKey>
  message: string
}
interface AjvLikeError {
  instancePath?: string
  message?: string
  params?: { missingProperty?: string; additionalProperty?: string }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

function zodIssues(err: unknown): ZodLikeIssue[] | undefined {
  if (!isObject(err) || err.name !== 'ZodError' || !Array.isArray(err.issues)) return undefined
  return err.issues as ZodLikeIssue[]
}

/** `/items/0/name` → `items.0.name`; a missing or unexpected property names itself. */
function ajvField(e: AjvLikeError, context: string | undefined): string {
  const path = (e.instancePath ?? '').split('/').filter(Boolean)
  const extra = e.params?.missingProperty ?? e.params?.additionalProperty
  if (extra !== undefined) path.push(extra)
  const field = path.join('.')
  if (context === undefined || context === 'body') return field || '(body)'
  return field ? `${context}.${field}` : context
}

function limitText(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/**
 * Turns anything thrown into an `HttpError` a client may see, and says whether it was
 * expected (a 4xx the client caused) or a fault (5xx, logged with its stack).
 *
 * - `HttpError`: as thrown.
 * - zod's `ZodError` and Fastify/ajv schema failures: 422 with `errors: [{ field, message }]`.
 * - framework errors with a known `code` (body too large, bad JSON, unsupported media type…):
 *   their status with our own wording.
 * - any other error carrying a 4xx `statusCode`: that status and its reason phrase only.
 * - an error carrying status 503 (a database that is down): 503 with `Retry-After`.
 * - everything else: 500. In development (`exposeMessage`) the detail is the error's message.
 *
 * @example
 * const http = toHttpError(new SyntaxError('Unexpected token'), { exposeMessage: false }) // → 500
 */
export function toHttpError(err: unknown, options: { exposeMessage: boolean }): HttpError {
  if (err instanceof HttpError) return err
  const issues = zodIssues(err)
  if (issues !== undefined) {
    return new HttpError(422, {
      detail: 'The request has invalid fields.',
      errors: issues.slice(0, 100).map((i) => ({
        field: i.path.map(String).join('.') || '(body)',
        message: limitText(i.message),
      })),
      cause: err,
    })
  }
  if (isObject(err) && Array.isArray(err.validation)) {
    const context = typeof err.validationContext === 'string' ? err.validationContext : undefined
    return new HttpError(422, {
      detail: 'The request has invalid fields.',
      errors: (err.validation as AjvLikeError[]).slice(0, 100).map((e) => ({
        field: ajvField(e, context),
        message: limitText(e.message ?? 'is invalid'),
      })),
      cause: err,
    })
  }
  const code = isObject(err) && typeof err.code === 'string' ? err.code : undefined
  const known = code === undefined ? undefined : KNOWN_CODES[code]
  if (known !== undefined) return new HttpError(known.status, { detail: known.detail, cause: err })
  const status = isObject(err) ? (err.statusCode ?? err.status) : undefined
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500) {
    // JSON parse failures arrive as a SyntaxError with statusCode 400 (prototype poisoning too).
    const detail = err instanceof SyntaxError ? 'The request body is not valid JSON.' : undefined
    return new HttpError(status, { detail, cause: err })
  }
  // A dependency that is down (`createPgPool` marks such errors): retryable, not a fault of ours.
  if (status === 503)
    return new HttpError(503, {
      detail: 'A service this request needs is unavailable. Try again in a few seconds.',
      headers: { 'retry-after': '5' },
      cause: err,
    })
  const message = err instanceof Error ? err.message : undefined
  if (message !== undefined && code === undefined && MULTIPART_PARSE_ERRORS.test(message))
    return new HttpError(400, { detail: 'The multipart body is malformed.', cause: err })
  return new HttpError(500, {
    detail: options.exposeMessage && message ? limitText(message, 1000) : undefined,
    cause: err,
  })
}
