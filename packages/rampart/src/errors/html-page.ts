import { createHash } from 'node:crypto'
import type { FieldError } from './normalize.js'

/**
 * The error pages' only style. It is inline (pages are self-contained: no external asset to
 * fail or leak a request) and allowed by the Content-Security-Policy through its SHA-256
 * hash, so the CSP needs no `'unsafe-inline'`. Change it and the hash follows.
 */
export const ERROR_PAGE_STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c2430}' +
  'main{max-width:36rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}' +
  'h1{font-size:1.5rem;margin:0 0 .5rem}p{margin:.5rem 0}ul{padding-left:1.2rem}' +
  'code{font:.9em ui-monospace,monospace;background:#eef0f3;padding:.1em .3em;border-radius:3px}' +
  '.status{color:#6b7482;font-size:.9rem;letter-spacing:.05em}'

/** `'sha256-…'` source for `style-src`, allowing exactly `ERROR_PAGE_STYLE`. */
export const ERROR_PAGE_STYLE_HASH = `'sha256-${createHash('sha256').update(ERROR_PAGE_STYLE).digest('base64')}'`

/** What to tell a person when the service gave no detail of its own. */
export const DEFAULT_TEXT: Readonly<Record<number, string>> = {
  400: 'The request could not be understood.',
  401: 'You need to sign in to see this.',
  403: 'You are not allowed to do this. If you came from a form, reload the page and try again.',
  404: 'There is nothing at this address.',
  405: 'This address does not accept that kind of request.',
  413: 'What you sent is larger than this service accepts.',
  415: 'This address does not accept that kind of content.',
  422: 'Some fields need attention.',
  429: 'Too many requests. Wait a moment and try again.',
  500: 'Something went wrong on our side. If it keeps happening, quote the request id below.',
  503: 'The service is temporarily unavailable. Try again shortly.',
}

/**
 * The sentence shown when an error carries no detail of its own: the status's own text, else
 * the generic client or server one. Every page and problem body has a human sentence.
 */
export function defaultDetail(status: number): string {
  return (
    DEFAULT_TEXT[status] ??
    (status >= 500
      ? (DEFAULT_TEXT[500] as string)
      : 'The service could not accept this request as it was sent.')
  )
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`)
}

export interface ErrorPage {
  status: number
  title: string
  detail: string | undefined
  requestId: string
  errors?: ReadonlyArray<FieldError> | undefined
  retryAfter?: string | undefined
}

/**
 * A clean, self-contained HTML error page: no script, no external asset, every value escaped.
 *
 * @example
 * htmlPage({ status: 404, title: 'Not Found', detail: undefined, requestId: 'abc' })
 */
export function htmlPage(page: ErrorPage): string {
  const text = page.detail ?? defaultDetail(page.status)
  const fields =
    page.errors && page.errors.length > 0
      ? `<ul>${page.errors
          .map((e) => `<li><code>${escapeHtml(e.field)}</code>: ${escapeHtml(e.message)}</li>`)
          .join('')}</ul>`
      : ''
  const retry =
    page.retryAfter && /^\d{1,9}$/.test(page.retryAfter)
      ? `<p>You can try again in ${page.retryAfter} seconds.</p>`
      : ''
  const title = escapeHtml(`${page.status} ${page.title}`)
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<meta name="robots" content="noindex"><title>${title}</title>` +
    `<style>${ERROR_PAGE_STYLE}</style></head><body><main>` +
    `<p class="status">Error ${page.status}</p><h1>${escapeHtml(page.title)}</h1>` +
    `<p>${escapeHtml(text)}</p>${fields}${retry}` +
    `<p class="status">Request id: <code>${escapeHtml(page.requestId)}</code></p>` +
    '</main></body></html>'
  )
}
