import { spawn } from 'node:child_process'
import { cliArgs } from './built-source.js'
import { PROJECT_ROOT } from './harness.js'

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

export interface CliProcess {
  /** Resolves when stdout has printed text matching `pattern`, with the match. */
  waitForOutput: (pattern: RegExp) => Promise<RegExpMatchArray>
  done: Promise<CliRun>
}

/** Spawns the real CLI (the current src/, compiled: see built-source.ts), as CI would run the installed bin. */
export function spawnCli (args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const child = spawn(process.execPath, cliArgs(args), {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  const waiters: Array<{ pattern: RegExp, resolve: (match: RegExpMatchArray) => void }> = []
  const check = (): void => {
    for (const waiter of [...waiters]) {
      const match = stdout.match(waiter.pattern)
      if (match !== null) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(match)
      }
    }
  }
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; check() })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      for (const waiter of waiters) waiter.resolve(Object.assign([''], { index: -1 }) as unknown as RegExpMatchArray)
      resolve({ code, stdout, stderr })
    })
  })
  return {
    done,
    waitForOutput: async (pattern) => await new Promise<RegExpMatchArray>((resolve) => {
      waiters.push({ pattern, resolve })
      check()
    })
  }
}

/** Runs the CLI to completion. */
export async function runCli (args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return await spawnCli(args, env).done
}
