import { createRequire } from 'node:module'
import { sep } from 'node:path'

/** The CommonJS packages Rampart instruments by patching their exports. */
export const PATCHED_PACKAGES = ['pg', 'ioredis'] as const

const require = createRequire(import.meta.url)

/** One loaded file of each package in `names` (CommonJS modules, including those an ESM `import` loaded). */
export function loadedPackages(names: readonly string[]): Map<string, string> {
  const found = new Map<string, string>()
  for (const file of Object.keys(require.cache)) {
    for (const name of names) {
      if (!found.has(name) && file.includes(`${sep}node_modules${sep}${name}${sep}`)) {
        found.set(name, file)
      }
    }
  }
  return found
}

/**
 * Patches packages that were loaded before the instrumentation was registered: requiring a
 * package again, from inside itself so it resolves to the same copy, hands its (cached)
 * exports to require-in-the-middle, which runs the instrumentation's patch on them. The patch
 * wraps prototype methods in place, so clients created earlier are traced too.
 * Returns the packages it could not re-require.
 */
export function patchLoaded(loaded: ReadonlyMap<string, string>): string[] {
  const failed: string[] = []
  for (const [name, file] of loaded) {
    try {
      createRequire(file)(name)
    } catch {
      failed.push(name)
    }
  }
  return failed
}
