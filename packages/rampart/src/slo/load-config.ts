import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { RampartError } from '../errors/rampart-error.js'
import { parseConfig, type SloConfig } from './options.js'

/** Files tried, in order, when no `--config` is given. */
export const CONFIG_FILES = [
  'rampart.config.ts',
  'rampart.config.mts',
  'rampart.config.mjs',
  'rampart.config.js',
]

let sourceHook = false

/**
 * Inside this repository the CLI runs from TypeScript source (no dist/ yet); a config that
 * imports `rampart` must then get the source too, through the `rampart-source` export condition
 * that the tests and `npm start` pass with `--conditions`. A published install never runs
 * from .ts, so this is a no-op there.
 */
async function resolveRampartFromSource(): Promise<void> {
  if (sourceHook || !import.meta.url.endsWith('.ts')) return
  sourceHook = true
  if (process.execArgv.some((a) => a.includes('rampart-source'))) return
  const { register } = await import('node:module')
  const hook = `export async function resolve(s, c, next) { return next(s, { ...c, conditions: [...c.conditions, 'rampart-source'] }) }`
  register(`data:text/javascript,${encodeURIComponent(hook)}`)
}

/**
 * Loads and validates `rampart.config.ts` (or `.mjs`/`.js`): its default export, usually a
 * `defineConfig(...)` call. TypeScript files are loaded with tsx's `tsImport`, which is an
 * optional peer dependency: it is only needed for `.ts` configs and only by the CLI.
 * Every failure is one line naming the file.
 */
export async function loadConfig(
  cwd: string,
  path?: string,
): Promise<{ config: SloConfig; file: string }> {
  const file = path
    ? isAbsolute(path)
      ? path
      : resolve(cwd, path)
    : CONFIG_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f))
  if (file === undefined)
    throw new RampartError(
      'ERR_RAMPART_USAGE',
      `no rampart.config.ts in ${cwd}; create one with defineConfig() or pass --config <file>`,
    )
  if (!existsSync(file))
    throw new RampartError('ERR_RAMPART_USAGE', `config file not found: ${path}`)
  let mod: { default?: unknown }
  try {
    if (/\.[cm]?ts$/.test(file)) {
      let tsImport: (specifier: string, parent: string) => Promise<{ default?: unknown }>
      try {
        ;({ tsImport } = await import('tsx/esm/api'))
      } catch {
        throw new RampartError(
          'ERR_RAMPART_USAGE',
          `${path ?? file}: loading a TypeScript config needs tsx (npm install -D tsx), or write rampart.config.mjs`,
        )
      }
      await resolveRampartFromSource()
      mod = await tsImport(pathToFileURL(file).href, import.meta.url)
    } else {
      mod = (await import(pathToFileURL(file).href)) as { default?: unknown }
    }
  } catch (err) {
    // A defineConfig() that threw while the file was evaluated: keep its one line. (The config
    // may load its own copy of rampart, so match by name rather than instanceof.)
    if (err instanceof Error && err.name === 'RampartError') {
      const code =
        (err as RampartError).code === 'ERR_RAMPART_USAGE' ? 'ERR_RAMPART_USAGE' : 'ERR_RAMPART_SLO'
      throw new RampartError(code, err.message.replace(/^config:/, `${path ?? 'rampart.config'}:`))
    }
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new RampartError('ERR_RAMPART_SLO', `${path ?? file}: cannot load: ${message}`)
  }
  // tsImport of a CommonJS-looking module nests the default export once more.
  let value = mod.default
  if (value !== null && typeof value === 'object' && 'default' in value && !('service' in value))
    value = (value as { default: unknown }).default
  if (value === undefined)
    throw new RampartError(
      'ERR_RAMPART_SLO',
      `${path ?? file}: has no default export; export default defineConfig({ ... })`,
    )
  return { config: parseConfig(value, path ?? 'rampart.config'), file }
}
