import path from 'node:path'
import { execa } from 'execa'
import { describeToolFailure } from '../../lib/tool-failure.js'
import { maskSecrets, registerUrlSecret } from '../../lib/mask-secrets.js'

/** A line the tool printed (stdout or stderr), ANSI colours removed, with when it arrived. */
export interface ToolLine {
  text: string
  /** Milliseconds since the tool started. */
  atMs: number
}

export interface ToolRun {
  failed: boolean
  /** Why it failed, in one sentence (not found, timed out, exit code …); '' when it did not. */
  failure: string
  exitCode: number | undefined
  lines: ToolLine[]
  /** What it wrote to stderr alone. */
  stderrLines: string[]
  durationMs: number
}

export interface RunToolOptions {
  cwd: string
  databaseUrl: string
  /** The variable the URL goes in. */
  urlEnv: string
  env: Record<string, string>
  passEnv: string[]
  timeoutMs: number
  onLine?: (line: string) => Promise<void> | void
}

// What a Node or any CLI needs to start and find its files; nothing else of the worker's environment
// (its control-database URL, other environments' URL variables, PG* defaults) reaches the tool.
const INHERITED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'TMP', 'TEMP', 'SystemRoot', 'ComSpec', 'PATHEXT', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE']

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g

/** The tool's environment: a short allow-list of the worker's, `pass_env`, the config's `env`, and the URL. */
export function toolEnvironment (options: Pick<RunToolOptions, 'databaseUrl' | 'urlEnv' | 'env' | 'passEnv'>, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of [...INHERITED, ...options.passEnv]) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env, ...extra, [options.urlEnv]: options.databaseUrl }
}

/**
 * Runs one argv of a migration tool with execa, never through a shell, in the project folder,
 * finding the program in the project's `node_modules/.bin` first. The target's URL is only in
 * the environment variable the config names. Each output line (stdout and stderr, in the order
 * they arrive) is masked and handed to `onLine` as it comes. Never throws for the tool's own
 * failure: the caller reads `failed`.
 */
export async function runTool (argv: string[], options: RunToolOptions, extraEnv: Record<string, string> = {}): Promise<ToolRun> {
  const [file, ...args] = argv as [string, ...string[]]
  registerUrlSecret(options.databaseUrl)
  const started = performance.now()
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: toolEnvironment(options, extraEnv),
    extendEnv: false,
    preferLocal: true,
    localDir: options.cwd,
    reject: false,
    stdin: 'ignore',
    all: true,
    timeout: options.timeoutMs > 0 ? options.timeoutMs : undefined
  })
  const lines: ToolLine[] = []
  try {
    for await (const raw of subprocess.iterable({ from: 'all' })) {
      const text = maskSecrets(String(raw).replace(ANSI, '').trimEnd())
      lines.push({ text, atMs: performance.now() - started })
      await options.onLine?.(text)
    }
  } catch {
    // The result below says how the tool ended; a stream error adds nothing to it.
  }
  const result = await subprocess
  const stderr = typeof result.stderr === 'string' ? maskSecrets(result.stderr.replace(ANSI, '')) : ''
  const failure = result.failed ? maskSecrets(describeToolFailure(path.basename(file), file, { ...result, stderr: '' })) : ''
  return {
    failed: result.failed,
    failure,
    exitCode: result.exitCode,
    lines,
    stderrLines: stderr.split('\n').map((line) => line.trimEnd()).filter((line) => line !== ''),
    durationMs: performance.now() - started
  }
}
