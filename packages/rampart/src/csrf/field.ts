import { escapeHtml } from '../errors/html-page.js'
import { CSRF_DEFAULTS } from './options.js'

/**
 * The hidden form field carrying a fresh CSRF token, for server-rendered forms.
 *
 * @example
 * // in an eta template: <form method="post" action="/requests"><%~ it.csrf %> …</form>
 * reply.view('new.eta', { csrf: csrfField(request) })
 */
export function csrfField(request: { csrfToken(): string }): string {
  return `<input type="hidden" name="${CSRF_DEFAULTS.field}" value="${escapeHtml(request.csrfToken())}">`
}
