import { type Browser, chromium } from 'playwright-core'

/** Chromium's flags for tests: headless, no sandbox (root in CI), no network of its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
]

/** Launches the Debian Chromium at `executablePath` (CHROMIUM_PATH) through playwright-core. */
export function launchChromium(executablePath: string | undefined): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS })
}
