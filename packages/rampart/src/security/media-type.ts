/**
 * The media type of a `Content-Type` value, lower case, without its parameters
 * (`Application/JSON; charset=utf-8` → `application/json`); `''` when there is none. The one
 * copy every capability uses (body guards, CSRF, the header policy).
 */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return ''
  const end = contentType.indexOf(';')
  return (end === -1 ? contentType : contentType.slice(0, end)).trim().toLowerCase()
}

/** `application/json` or any `+json` type (`application/problem+json`). */
export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}
