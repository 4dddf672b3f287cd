/** A readiness check: resolves when the dependency can serve, throws (or times out) when not. */
export interface ReadinessCheck {
  /** Shown in the `/readyz` body, e.g. `database`. */
  name: string
  check: () => Promise<unknown> | unknown
  /** Default: 2000 ms. A check still running then counts as failed ("timed out"). */
  timeoutMs?: number
}

export interface CheckResult {
  name: string
  ok: boolean
  /** Why it failed, for operators; never a stack. */
  error?: string
  duration_ms: number
}

export interface Readiness {
  ready: boolean
  draining: boolean
  checks: CheckResult[]
}

/**
 * Liveness and readiness state of one app. Liveness is "the process can answer"; readiness is
 * "every registered check passes and the app is not draining for shutdown".
 *
 * @example
 * app.rampart.health.addCheck({ name: 'database', check: () => db.selectFrom('users').select('id').limit(1).execute(), timeoutMs: 1000 })
 */
export class Health {
  readonly #checks: Required<ReadinessCheck>[] = []
  #draining = false

  addCheck(check: ReadinessCheck): void {
    const timeoutMs = check.timeoutMs ?? 2000
    if (!check.name || this.#checks.some((c) => c.name === check.name)) {
      throw new TypeError(`health.addCheck: name must be unique and non-empty, got "${check.name}"`)
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TypeError(`health.addCheck(${check.name}): timeoutMs must be > 0, got ${timeoutMs}`)
    }
    this.#checks.push({ name: check.name, check: check.check, timeoutMs })
  }

  /** From now on readiness fails: the app is shutting down. */
  startDraining(): void {
    this.#draining = true
  }

  get draining(): boolean {
    return this.#draining
  }

  /** Runs every check concurrently, each bounded by its timeout. */
  async readiness(): Promise<Readiness> {
    const checks = await Promise.all(this.#checks.map(runCheck))
    return { ready: !this.#draining && checks.every((c) => c.ok), draining: this.#draining, checks }
  }
}

async function runCheck(c: Required<ReadinessCheck>): Promise<CheckResult> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      Promise.resolve().then(c.check),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${c.timeoutMs} ms`)),
          c.timeoutMs,
        )
        timer.unref()
      }),
    ])
    return { name: c.name, ok: true, duration_ms: Math.round(performance.now() - started) }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    return {
      name: c.name,
      ok: false,
      error: message.split('\n')[0]?.slice(0, 200) ?? 'failed',
      duration_ms: Math.round(performance.now() - started),
    }
  } finally {
    clearTimeout(timer)
  }
}
