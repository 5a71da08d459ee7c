import type { DeploymentResource } from '../../schemas/deployment.js'
import type { CliIo } from './command.js'
import type { StreamedEvent } from './follow.js'

/** A fleet deployment's targets by status (SPEC §14), as the deployment and its events carry them. */
export type FleetCounts = NonNullable<DeploymentResource['summary']>

const STATUSES = ['succeeded', 'failed', 'skipped', 'running', 'pending'] as const

/** `Fleet: 12/50 done · 10 succeeded · 1 failed · 1 skipped · 3 running · 35 pending`. */
export function fleetProgressText (counts: FleetCounts): string {
  const done = counts.succeeded + counts.failed + counts.skipped
  return `Fleet: ${done}/${counts.total} done · ${STATUSES.map((status) => `${counts[status]} ${status}`).join(' · ')}`
}

/** The counts an event carries (`data.summary` of the rollout's events), if it carries them. */
export function countsOf (event: Pick<StreamedEvent, 'data'>): FleetCounts | undefined {
  const summary = event.data?.summary as Partial<FleetCounts> | undefined
  if (summary === undefined || summary === null || typeof summary !== 'object') return undefined
  const counts = { total: summary.total ?? 0 } as FleetCounts
  for (const status of STATUSES) {
    if (typeof summary[status] !== 'number') return undefined
    counts[status] = summary[status]
  }
  return typeof summary.total === 'number' ? counts : undefined
}

// Clears the terminal's current line and puts the cursor at its start.
const CLEAR_LINE = '\r\u001b[2K'

/**
 * What `deploy --wait` shows of a fleet's rollout: a progress line with the counts per status.
 * On a terminal it is one line redrawn in place (log lines print above it); in a pipe or a CI
 * log, where nothing can be redrawn, one line per change. A target's success shows only in the
 * counts; a target that failed or was skipped keeps its own log line, which names it and why.
 */
export class FleetProgress {
  private last: string | undefined
  private shown = false

  constructor (private readonly io: CliIo) {}

  private get inPlace (): boolean {
    return this.io.stdoutIsTTY === true && this.io.write !== undefined
  }

  /** Handles one streamed event; true when it was shown here (its line is not printed again). */
  event (event: StreamedEvent): boolean {
    const counts = countsOf(event)
    if (counts === undefined) return false
    if (event.type === 'fleet_target_finished' && event.data?.status !== 'succeeded' && event.message !== null) this.line(event.message)
    this.update(counts)
    return event.type === 'fleet_target_finished'
  }

  /** Shows `counts` when they differ from the last shown. */
  update (counts: FleetCounts): void {
    const text = fleetProgressText(counts)
    if (text === this.last) return
    this.last = text
    if (!this.inPlace) {
      this.io.out(text)
      return
    }
    this.io.write?.(`${CLEAR_LINE}${text}`)
    this.shown = true
  }

  /** Prints a log line; on a terminal above the progress line, which is drawn again below it. */
  line (text: string): void {
    if (!this.shown) {
      this.io.out(text)
      return
    }
    this.io.write?.(`${CLEAR_LINE}${text}\n${this.last ?? ''}`)
  }

  /** Ends the progress line and prints the fleet's summary: how many targets ended how, and how to retry the rest. */
  finish (deployment: DeploymentResource): void {
    if (this.shown) this.io.write?.(`${CLEAR_LINE}${this.last ?? ''}\n`)
    this.shown = false
    const counts = deployment.summary
    if (counts === undefined) return
    const rest = counts.failed + counts.skipped
    this.io.out(`Fleet summary: ${counts.succeeded} of ${counts.total} target${counts.total === 1 ? '' : 's'} succeeded, ${counts.failed} failed, ` +
      `${counts.skipped} skipped${counts.running + counts.pending > 0 ? `, ${counts.running + counts.pending} not finished` : ''}`)
    if (rest > 0 && (deployment.status === 'failed' || deployment.status === 'succeeded')) {
      this.io.out(`The ${rest} that did not succeed: GET /deployments/${deployment.id}/targets?status=failed (and skipped); retry them: POST /deployments/${deployment.id}/retry`)
    }
  }
}
