/**
 * An error that maps to an HTTP answer. Throw it from a handler or a hook: the error handler
 * renders it as an HTML page or an `application/problem+json` body (RFC 9457), with the given
 * headers (e.g. `Retry-After`) and the request id. `detail` is shown to the client, so it must
 * be written for the client; anything internal goes in `cause`, which is logged, never shown.
 *
 * @example
 * throw new HttpError(429, { detail: 'Too many login attempts; try again in 42 seconds.', headers: { 'retry-after': '42' } })
 */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  readonly status: number
  /** Short, human title; defaults to the standard reason phrase. */
  readonly title: string
  /** Shown to the client. */
  readonly detail: string | undefined
  /** A URI naming the problem type; defaults to `about:blank`. */
  readonly type: string
  readonly headers: Readonly<Record<string, string>>
  /** Field errors for 422: `[{ field: 'title', message: 'Required' }]`. */
  readonly errors: ReadonlyArray<{ field: string; message: string }> | undefined

  constructor(
    status: number,
    options: {
      title?: string
      detail?: string
      type?: string
      headers?: Record<string, string>
      errors?: ReadonlyArray<{ field: string; message: string }>
      cause?: unknown
    } = {},
  ) {
    super(options.detail ?? options.title ?? `HTTP ${status}`, { cause: options.cause })
    this.status = status
    this.title = options.title ?? REASONS[status] ?? 'Error'
    this.detail = options.detail
    this.type = options.type ?? 'about:blank'
    this.headers = { ...options.headers }
    this.errors = options.errors
  }
}

export const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}
