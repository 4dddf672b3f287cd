import type { RateLimitKeyRequest, RateLimitPolicyOptions } from '../config/options.js'
import { HttpError } from '../errors/http-error.js'
import { RampartError } from '../errors/rampart-error.js'
import type { Logger } from '../logging/logger.js'
import type { RampartMetrics } from '../metrics/registry.js'
import { addressSubject, bucketKey, customSubject, type Subject, subjectOf } from './client-key.js'
import { LATE, StoreDeadline } from './deadline.js'
import { MemoryStore } from './memory-store.js'
import { createRedisStore } from './redis-store.js'
import type { Decision, Store } from './store.js'

declare module '../core/rampart.js' {
  interface Rampart {
    /** The rate limiter (policies, store), once an adapter installed rate limiting. */
    rateLimiter?: RateLimiter
  }
}

/** Every policy counts over a rolling minute (docs/rate-limiting.md). */
export const WINDOW_MS = 60_000

/** Options of `createRateLimiter`. */
export interface RateLimiterOptions {
  /** Named policies (usually `config.rateLimit.policies`). */
  policies: Readonly<Record<string, RateLimitPolicyOptions>>
  /** `memory`, a `redis://` URL, or a `Store`. Default: `memory`. */
  store?: string | Store
  /**
   * What a policy does when the store fails or misses its deadline: `open` decides on a local
   * bucket of this process (the same limit, per replica), `closed` answers 503. Default:
   * `open`. Credential policies are `closed` unless they set their own `onStoreError`.
   */
  onStoreError?: 'open' | 'closed'
  /** Longest wait for the store in ms; the deadline adapts below it (ADR 0010). Default: 1000. */
  storeTimeoutMs?: number
  logger: Logger
  /**
   * The app's metrics registry; the limiter creates `rampart_ratelimit_blocks_total{policy,scope}`
   * and `rampart_ratelimit_store_errors_total` in it. Optional: no metrics when absent.
   */
  metrics?: Pick<RampartMetrics, 'counter'>
  /** Clock for the memory store and the error-log throttle (tests). Default: `Date.now`. */
  now?: () => number
  /** Key prefix in Redis. Default: `rampart:rl:`. */
  redisPrefix?: string
}

/** One policy as the request path uses it, with its header value computed once. */
export interface Policy {
  readonly name: string
  readonly limit: number
  /** `RateLimit-Policy` header value, e.g. `"auth";q=10;w=60`. */
  readonly header: string
  /** Guards a credential check (keyed on the address, fails closed by default). */
  readonly credential: boolean
  /** This policy's store-error mode. */
  readonly onStoreError: 'open' | 'closed'
  /** Whom a request is counted against. */
  readonly subject: (req: LimitRequest) => Subject
}

/** What a request needs to know to be counted. */
export interface LimitRequest {
  policy: Policy
  /** Route template, never the raw path. */
  route: string
  userId: string | undefined
  clientIp: string | undefined
  /** The route's parameters, for policies keyed on a target account. */
  params?: Readonly<Record<string, string | undefined>>
}

const NO_PARAMS: Readonly<Record<string, string | undefined>> = {}

/** The subject function of one policy (see `RateLimitPolicyOptions.key`). */
function subjectFunction(
  p: RateLimitPolicyOptions,
  credential: boolean,
): (req: LimitRequest) => Subject {
  const key = p.key ?? (credential ? 'ip' : 'principal')
  if (key === 'principal') return (req) => subjectOf(req.userId, req.clientIp)
  if (key === 'ip') {
    const param = p.accountParam ?? 'username'
    return (req) => addressSubject(req.clientIp, req.params?.[param])
  }
  if (typeof key !== 'function')
    throw new RampartError(
      'ERR_RAMPART_CONFIG',
      `rateLimit.policies: key: got ${JSON.stringify(key)}; expected 'principal', 'ip' or a function`,
    )
  return (req) => {
    const view: RateLimitKeyRequest = {
      userId: req.userId,
      clientIp: req.clientIp,
      params: req.params ?? NO_PARAMS,
    }
    return customSubject(key(view))
  }
}

/**
 * The answer for one request: headers to set, and whether to go on. `error` is set when the
 * request must stop (429, or 503 with a closed store).
 */
export interface LimitOutcome {
  /** `RateLimit` header value, or undefined when the store could not answer. */
  readonly rateLimit: string | undefined
  readonly error: HttpError | undefined
}

export interface RateLimiter {
  /** Looks a policy up by name; throws `ERR_RAMPART_CONFIG` naming the known ones. */
  policy(name: string): Policy
  /** Counts one request. Resolves synchronously (a plain value) with the memory store. */
  check(req: LimitRequest): LimitOutcome | Promise<LimitOutcome>
  readonly store: Store
  /** Totals since start: requests blocked, and decisions the store failed to make. */
  stats(): { blocks: number; storeErrors: number }
  close(): Promise<void>
}

const POLICY_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/

/** Structured-field string of a policy name (names are restricted so no escaping is needed). */
function sfString(name: string): string {
  return `"${name}"`
}

/**
 * Builds the limiter: resolves policies once, opens the store (importing ioredis only for a
 * `redis://` store), and returns `check`, which the framework adapters call per request.
 * Store failures are caught here and never reach the request as anything but the configured
 * `open`/`closed` behaviour; they are counted and logged at most every 10 seconds.
 *
 * @example
 * const limiter = await createRateLimiter({ policies: core.config.rateLimit.policies, logger: core.logger })
 * const out = await limiter.check({ policy: limiter.policy('auth'), route: '/login', userId: undefined, clientIp: '203.0.113.9' })
 */
export async function createRateLimiter(options: RateLimiterOptions): Promise<RateLimiter> {
  const { logger } = options
  const blocks = options.metrics?.counter({
    name: 'rampart_ratelimit_blocks_total',
    help: 'Requests refused with 429 by a rate-limit policy.',
    labelNames: ['policy', 'scope'] as const,
  })
  const storeErrors = options.metrics?.counter({
    name: 'rampart_ratelimit_store_errors_total',
    help: 'Rate-limit decisions the store failed to make in time (the policy store-error mode applied).',
  })
  const lateAnswers = options.metrics?.counter({
    name: 'rampart_ratelimit_late_answers_total',
    help: 'Store answers that came after the deadline, by policy and what the store decided.',
    labelNames: ['policy', 'allowed'] as const,
  })
  const onStoreError = options.onStoreError ?? 'open'
  const storeTimeoutMs = options.storeTimeoutMs ?? 1000
  const policies = new Map<string, Policy>()
  for (const [name, p] of Object.entries(options.policies)) {
    if (!POLICY_NAME.test(name))
      throw new RampartError(
        'ERR_RAMPART_CONFIG',
        `rateLimit.policies: got policy name "${name}"; allowed: 1–32 lowercase letters, digits, "-" and "_", not starting with "-" or "_"`,
      )
    const credential = p.credential ?? name === 'auth'
    policies.set(name, {
      name,
      limit: p.perMinute,
      header: `${sfString(name)};q=${p.perMinute};w=${WINDOW_MS / 1000}`,
      credential,
      onStoreError: p.onStoreError ?? (credential ? 'closed' : onStoreError),
      subject: subjectFunction(p, credential),
    })
  }

  const clock = options.now ?? Date.now
  const errorLog = { lastAt: 0, suppressed: 0, failing: false }
  const totals = { blocks: 0, storeErrors: 0 }
  /** `counted`: a request's decision failed (connection events are only logged). */
  const reportStoreError = (err: unknown, counted = true): void => {
    if (counted) {
      totals.storeErrors++
      storeErrors?.inc()
    }
    errorLog.failing = true
    const now = clock()
    if (errorLog.lastAt !== 0 && now - errorLog.lastAt < 10_000) {
      errorLog.suppressed++
      return
    }
    logger.error(
      {
        event: 'ratelimit.store_failed',
        err,
        suppressed: errorLog.suppressed,
        on_store_error: onStoreError,
      },
      'rate-limit store failed; fail-closed policies (credential ones) answer 503, the others count in this process',
    )
    errorLog.lastAt = now
    errorLog.suppressed = 0
  }
  const reportRecovered = (): void => {
    errorLog.failing = false
    logger.info({ event: 'ratelimit.store_recovered' }, 'rate-limit store answers again')
  }

  let store: Store
  if (typeof options.store === 'object') store = options.store
  else if (options.store === undefined || options.store === 'memory')
    store = new MemoryStore(options.now ? { now: options.now } : {})
  else
    store = await createRedisStore({
      url: options.store,
      prefix: options.redisPrefix,
      onError: (err) => reportStoreError(err, false),
      now: options.now,
      // A backstop only: the limiter's own deadline decides, and a late answer must still
      // arrive to be learnt and counted.
      commandTimeoutMs: storeTimeoutMs * 10,
    })

  // Fail-open policies decide on these when the store cannot (ADR 0010): the same exact
  // window, in this process, so an outage never lifts a limit.
  const fallback = new MemoryStore({
    maxKeys: 20_000,
    ...(options.now ? { now: options.now } : {}),
  })
  // Keys the store refused in a late answer, until their window frees a unit (bounded).
  const refusedUntil = new Map<string, number>()
  const deadline = new StoreDeadline(storeTimeoutMs)

  const unavailable = (req: LimitRequest, key: string, scope: Subject['scope']): LimitOutcome => {
    if (req.policy.onStoreError === 'closed')
      return {
        rateLimit: undefined,
        error: new HttpError(503, {
          detail: 'Request limiting is temporarily unavailable. Please try again in a few seconds.',
          headers: { 'retry-after': '5' },
        }),
      }
    const until = refusedUntil.get(key)
    if (until !== undefined && until > clock()) {
      // Not a store answer: the store is still failing, so this must not end its outage.
      const out = decide(
        req,
        scope,
        { allowed: false, remaining: 0, resetMs: until - clock() },
        false,
      )
      return { rateLimit: undefined, error: out.error }
    }
    const local = fallback.increment(key, { limit: req.policy.limit, windowMs: WINDOW_MS })
    // The local numbers are not the shared budget: no RateLimit header from them.
    return { rateLimit: undefined, error: decide(req, scope, local, false).error }
  }

  const learnLate = (
    req: LimitRequest,
    key: string,
    late: { value: Decision } | { error: unknown },
  ): void => {
    if (!('value' in late)) return
    const d = late.value
    try {
      lateAnswers?.inc({ policy: req.policy.name, allowed: String(d.allowed) })
    } catch {
      // telemetry never breaks a request
    }
    if (!d.allowed) {
      if (refusedUntil.size >= 20_000) refusedUntil.clear()
      refusedUntil.set(key, clock() + d.resetMs)
    }
  }

  const decide = (
    req: LimitRequest,
    scope: Subject['scope'],
    d: Decision,
    fromStore = true,
  ): LimitOutcome => {
    if (fromStore && errorLog.failing) reportRecovered()
    const { policy } = req
    const t = Math.max(0, Math.ceil(d.resetMs / 1000))
    const rateLimit = `${sfString(policy.name)};r=${d.remaining};t=${t}`
    if (d.allowed) return { rateLimit, error: undefined }
    totals.blocks++
    blocks?.inc({ policy: policy.name, scope })
    logger.warn({
      event: 'security.rate_limited',
      policy: policy.name,
      scope,
      route: req.route,
      retry_after_s: t,
    })
    const retryAfter = Math.max(1, t)
    return {
      rateLimit,
      error: new HttpError(429, {
        detail: `Too many requests. This limit allows ${policy.limit} per minute; try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`,
        headers: { 'retry-after': String(retryAfter) },
      }),
    }
  }

  return {
    store,
    policy(name: string): Policy {
      const p = policies.get(name)
      if (p === undefined)
        throw new RampartError(
          'ERR_RAMPART_CONFIG',
          `rateLimit: route asks for policy "${name}"; known policies: ${[...policies.keys()].join(', ')} (add it under rateLimit.policies)`,
        )
      return p
    },
    check(req: LimitRequest): LimitOutcome | Promise<LimitOutcome> {
      const subject = req.policy.subject(req)
      const key = bucketKey(req.policy.name, req.route, subject)
      let result: Decision | Promise<Decision>
      try {
        result = store.increment(key, { limit: req.policy.limit, windowMs: WINDOW_MS })
      } catch (err) {
        reportStoreError(err)
        return unavailable(req, key, subject.scope)
      }
      if (!(result instanceof Promise)) return decide(req, subject.scope, result)
      // Credential policies wait up to the whole store timeout (they refuse when it passes);
      // the others wait for the adaptive deadline, then count in this process.
      const wait = req.policy.onStoreError === 'closed' ? deadline.ceilingMs : deadline.ms
      return deadline
        .wait(result, (late) => learnLate(req, key, late), wait)
        .then(
          (d) => {
            if (d !== LATE) return decide(req, subject.scope, d)
            reportStoreError(new Error(`rate-limit store did not answer within ${wait} ms`))
            return unavailable(req, key, subject.scope)
          },
          (err: unknown) => {
            reportStoreError(err)
            return unavailable(req, key, subject.scope)
          },
        )
    },
    stats: () => ({ ...totals }),
    async close(): Promise<void> {
      await store.shutdown?.()
    },
  }
}
