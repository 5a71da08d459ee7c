import { setTimeout as sleep } from 'node:timers/promises'
import type { DeploymentResource } from '../../schemas/deployment.js'
import type { ApiClient } from './api-client.js'
import { ServerUnavailableError } from './errors.js'
import { TERMINAL } from './exit-codes.js'

export interface FollowOptions {
  /** Each human-log line as it arrives (multi-line banners come as one string). */
  onLine: (line: string) => void
  /** Each event before its line: returns true when it showed the event itself (its line is then not passed to onLine). */
  onEvent?: (event: StreamedEvent) => Promise<boolean> | boolean
  /** Called once when the deployment stops for approval (and is still waiting). */
  onPendingApproval: (deployment: DeploymentResource) => Promise<void> | void
  /** Called each time the deployment starts waiting for its deployment window (and still waits). */
  onWaitingForWindow?: (deployment: DeploymentResource) => Promise<void> | void
  /** Progress notes (reconnecting …), for stderr. */
  onNotice: (text: string) => void
  /** Give up after this long; undefined waits until the deployment finishes. */
  timeoutMs?: number | undefined
}

export interface FollowResult {
  deployment: DeploymentResource
  timedOut: boolean
}

/** One event of the stream, as the server sends it. */
export interface StreamedEvent { id: number, type: string, message: string | null, data: Record<string, unknown> | null }

/**
 * Follows a deployment's Server-Sent Events until the server ends the stream for a finished
 * deployment, printing the human log live. A dropped connection (a restarted or replaced API
 * process) resumes with Last-Event-ID, so no line is lost or printed twice.
 */
export async function followDeployment (client: ApiClient, id: string, options: FollowOptions): Promise<FollowResult> {
  const controller = new AbortController()
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(), options.timeoutMs)
  let lastId = 0
  let ended = false
  let pendingSeen = false
  let pendingShown = false
  let windowSeen = false
  let retryMs = 500
  try {
    while (!ended && !controller.signal.aborted) {
      try {
        for await (const event of client.events(id, lastId, controller.signal)) {
          if (event.event === 'end') { ended = true; break }
          if (event.event !== 'message') continue
          const parsed = JSON.parse(event.data) as StreamedEvent
          lastId = parsed.id
          retryMs = 500
          if (parsed.type === 'status_changed' && parsed.data?.to === 'pending_approval') pendingSeen = true
          if (parsed.type === 'status_changed' && parsed.data?.to === 'waiting_for_window') windowSeen = true
          if (await options.onEvent?.(parsed) === true || parsed.message === null) continue
          options.onLine(parsed.message)
          if (windowSeen) {
            windowSeen = false
            const current = await client.json<DeploymentResource>('GET', `/deployments/${encodeURIComponent(id)}`)
            if (current.status === 'waiting_for_window') await options.onWaitingForWindow?.(current)
          }
          // After the log line that follows the change (the "waiting for approval" line), if it still waits.
          if (pendingSeen && !pendingShown) {
            pendingShown = true
            const current = await client.json<DeploymentResource>('GET', `/deployments/${encodeURIComponent(id)}`)
            if (current.status === 'pending_approval') await options.onPendingApproval(current)
          }
        }
        if (!ended && !controller.signal.aborted) options.onNotice('event stream closed by the server; resuming')
      } catch (error) {
        if (controller.signal.aborted) break
        if (!(error instanceof ServerUnavailableError) && !isStreamDrop(error)) throw error
        options.onNotice(`${error instanceof Error ? client.redact(error.message) : 'connection lost'}; retrying in ${Math.round(retryMs / 100) / 10}s`)
      }
      if (ended || controller.signal.aborted) break
      await sleep(retryMs, undefined, { signal: controller.signal }).catch(() => {})
      retryMs = Math.min(retryMs * 2, 10_000)
    }
  } finally {
    clearTimeout(timer)
  }
  const deployment = await client.json<DeploymentResource>('GET', `/deployments/${encodeURIComponent(id)}`)
  return { deployment, timedOut: !TERMINAL.has(deployment.status) }
}

/** A body that stopped mid-stream (socket closed, TLS reset) rather than an answer we must show. */
function isStreamDrop (error: unknown): boolean {
  return error instanceof TypeError || (error as { code?: string }).code === 'UND_ERR_SOCKET' || (error as Error).name === 'AbortError'
}
