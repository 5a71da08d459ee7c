import { createRequire } from 'node:module'
import { LintError } from './lint-error.js'

let binaryPath: string | undefined

/**
 * The path of the native squawk executable, found from the `squawk-cli` package the way its
 * own launcher finds it (the `@squawk-cli/<platform>-<arch>` optional dependency), never via
 * PATH. Calling it directly spares the launcher's extra Node.js process.
 */
export function squawkBinaryPath (): string {
  if (binaryPath !== undefined) return binaryPath
  const require = createRequire(import.meta.url)
  try {
    const launcher = require('squawk-cli/js/index.js') as { getBinaryPath: () => string }
    binaryPath = launcher.getBinaryPath()
  } catch (error) {
    throw new LintError(`squawk is not installed for ${process.platform}-${process.arch}: ${(error as Error).message}`, { cause: error })
  }
  return binaryPath
}
