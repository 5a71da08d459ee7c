import { execFile } from 'node:child_process'
import { squawkBinaryPath } from './squawk-binary.js'

const known = new Map<string, boolean>()

/**
 * Whether squawk has a rule of this id (e.g. `ban-drop-column`). squawk itself is asked (it
 * refuses an unknown rule in `--exclude`), so the answer follows the installed version; answers
 * are remembered for the life of the process. Undefined when squawk cannot run.
 */
export async function squawkHasRule (rule: string): Promise<boolean | undefined> {
  const cached = known.get(rule)
  if (cached !== undefined) return cached
  const answer = await new Promise<boolean | undefined>((resolve) => {
    let binary: string
    try {
      binary = squawkBinaryPath()
    } catch {
      resolve(undefined)
      return
    }
    const child = execFile(binary, [`--exclude=${rule}`, '--stdin-filepath=rule-check.sql'], { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (error === null) resolve(true)
      else if (stderr.includes('invalid rule name')) resolve(false)
      else resolve(undefined)
    })
    child.stdin?.end('SELECT 1;\n')
  })
  if (answer !== undefined) known.set(rule, answer)
  return answer
}
