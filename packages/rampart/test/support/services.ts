/**
 * Tests that need a real server read its address from the environment. Without it they skip
 * with a one-line reason, except under CI=true, where .ci/run provides it and a missing one
 * is a failure.
 */
export type ServiceVar =
  | 'REDIS_URL'
  | 'DATABASE_URL'
  | 'PROMETHEUS_BIN'
  | 'PROMTOOL_BIN'
  | 'AMTOOL_BIN'
  | 'CHROMIUM_PATH'
  | 'REDIS_SERVER_BIN'
  | 'BLACKBOX_EXPORTER_BIN'

const warned = new Set<string>()

export function service(name: ServiceVar): string | undefined {
  const value = process.env[name]
  if (value) return value
  if (process.env.CI === 'true')
    throw new Error(`${name} is not set; under CI=true .ci/run must provide it`)
  if (!warned.has(name)) {
    warned.add(name)
    process.stderr.write(`skipping tests that need ${name}: it is not set\n`)
  }
  return undefined
}
