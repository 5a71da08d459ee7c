/** The parts of an execa result (run with `reject: false`) that say why a tool failed. */
export interface ToolOutcome {
  code?: unknown
  exitCode?: number | undefined
  signal?: string | undefined
  timedOut?: boolean
  stderr?: unknown
  originalMessage?: unknown
}

/**
 * One sentence saying why a tool run failed: not found, not executable, timed out, its exit code,
 * or the signal that killed it, followed by what it wrote to stderr. Not masked here: the error
 * classes (`BackupError`, `RestoreError`) mask their message.
 */
export function describeToolFailure (label: string, file: string, outcome: ToolOutcome, hint?: string): string {
  const stderr = typeof outcome.stderr === 'string' ? outcome.stderr.trim() : ''
  const output = stderr === '' ? '' : `: ${stderr}`
  const suffix = hint === undefined ? '' : `; ${hint}`
  if (outcome.code === 'ENOENT') return `${label} not found at ${file}${suffix}`
  if (outcome.code === 'EACCES') return `${label} at ${file} is not executable${suffix}`
  if (outcome.timedOut === true) return `${label} timed out${output}`
  if (outcome.exitCode !== undefined) return `${label} exited with code ${outcome.exitCode}${output}`
  if (outcome.signal !== undefined) return `${label} was killed by ${outcome.signal}${output}`
  return `${label} failed: ${typeof outcome.originalMessage === 'string' ? outcome.originalMessage : 'unknown error'}${output}`
}
