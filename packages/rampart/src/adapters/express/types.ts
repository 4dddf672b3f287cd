// Every augmentation a user touches must be reachable from the entry's .d.ts: these modules
// add `rp.core.audit` and `rp.core.rateLimiter` to `Rampart` (a side-effect import survives in
// the emitted declarations, a type-only one does not).
import '../../audit/index.js'
import '../../ratelimit/limiter.js'

declare global {
  namespace Express {
    interface Request {
      /**
       * A fresh CSRF token bound to this request's session cookie (or to `sessionId`, for a page
       * rendered in the same response that sets a new session cookie).
       *
       * @example
       * res.send(page({ csrf: req.csrfToken() }))
       */
      csrfToken(sessionId?: string): string
    }
  }
}
