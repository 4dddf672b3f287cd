import type { AppFactory } from '../support/error-tracking-app.js'
import { errorTrackingSuite } from '../support/error-tracking-suite.js'
import { adapters } from './adapters.js'
import { errorTrackingApp } from './app.js'

// The app-agnostic error-tracking suite, on every adapter, over the same routes (`app.ts`).
for (const { name, build } of adapters) {
  const start: AppFactory = async (options) => {
    const app = await build(errorTrackingApp, options)
    return {
      url: app.url,
      logs: app.logs,
      errors: app.core.errors,
      fingerprint: app.core.fingerprint,
      close: () => app.close(),
    }
  }
  errorTrackingSuite(name, start)
}
