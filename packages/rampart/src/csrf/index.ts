export { csrfField } from './field.js'
export { CSRF_DEFAULTS, type CsrfOptions } from './options.js'
export { createOriginCheck, normalizeOrigin, type OriginFailure } from './origin-check.js'
export { type CsrfTokens, createCsrfTokens, type TokenFailure } from './token.js'
