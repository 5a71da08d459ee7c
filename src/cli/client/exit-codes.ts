/** The CLI's exit codes (SPEC §10). */
export const EXIT = {
  /** Succeeded, or a dry run done, or a request that did what was asked. */
  ok: 0,
  /** The deployment failed (or the server could not be reached or failed). */
  failed: 1,
  /** Bad usage, or the server refused the request (4xx). */
  usage: 2,
  /** Rejected, cancelled or expired. */
  ended: 3,
  /** Still not finished when --timeout ran out. */
  timeout: 4
} as const

/** The exit code a deployment's status stands for; a status still moving maps to `timeout`. */
export function exitCodeForStatus (status: string): number {
  switch (status) {
    case 'succeeded': return EXIT.ok
    case 'failed': return EXIT.failed
    case 'rejected':
    case 'cancelled':
    case 'expired': return EXIT.ended
    default: return EXIT.timeout
  }
}

export const TERMINAL = new Set(['succeeded', 'failed', 'rejected', 'cancelled', 'expired'])
