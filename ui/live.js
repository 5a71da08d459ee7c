// Following a deployment while it runs: Server-Sent Events from GET /deployments/:id/events
// read through fetch (so the bearer header goes along), or, when the server answers with
// something other than an event stream, polling GET /deployments/:id.

import { deploymentPath, getJson, request, TERMINAL_STATUSES } from './api.js'
import { delay } from './dom.js'
import { createSseParser } from './sse.js'

export const POLL_INTERVAL_MS = 1500
/** While it waits for a decision, a deployment changes only when someone decides: poll less often. */
export const PENDING_POLL_INTERVAL_MS = 5000

/** A deployment that will not change any more. @param {{status: string}} deployment */
export const isFinished = (deployment) => TERMINAL_STATUSES.has(deployment.status)

/**
 * Follows a deployment until it finishes, calling `onUpdate` with each newer resource and
 * `onEvent` with each streamed event — also while it waits for approval, so that a decision
 * someone else takes (approve, reject, cancel) shows without a reload. Resolves with the
 * finished deployment; rejects when `signal` aborts (the reader left the page) or a request fails.
 * @param {string} id
 * @param {{
 *   signal: AbortSignal,
 *   onUpdate: (deployment: any) => void,
 *   onEvent?: (message: import('./sse.js').SseMessage) => void,
 *   onMode?: (mode: 'stream' | 'polling', deployment: any) => void
 * }} handlers
 */
export async function followDeployment (id, { signal, onUpdate, onEvent = () => {}, onMode = () => {} }) {
  let deployment = await getJson(deploymentPath(id), { signal })
  onUpdate(deployment)
  if (isFinished(deployment)) return deployment

  /** @param {any} next */
  const accept = (next) => { deployment = next; onUpdate(next) }
  const refresh = async () => { accept(await getJson(deploymentPath(id), { signal })); return deployment }
  await streamEvents(id, { signal, onEvent, onMode: (mode) => onMode(mode, deployment), refresh })

  // Not an event stream, or the stream ended before the deployment did: poll.
  while (!isFinished(deployment)) {
    onMode('polling', deployment)
    await delay(deployment.status === 'pending_approval' ? PENDING_POLL_INTERVAL_MS : POLL_INTERVAL_MS, signal)
    accept(await getJson(deploymentPath(id), { signal }))
  }
  return deployment
}

/**
 * @typedef {{ signal: AbortSignal, onEvent: (message: import('./sse.js').SseMessage) => void,
 *   onMode: (mode: 'stream' | 'polling') => void, refresh: () => Promise<{status: string}> }} StreamOptions
 */

/**
 * Reads the events endpoint as SSE. Returns once the stream ends, the deployment finishes, or
 * the server turns out not to stream (a JSON answer); the caller then polls as needed.
 * @param {string} id
 * @param {StreamOptions} options
 */
async function streamEvents (id, { signal, onEvent, onMode, refresh }) {
  const stop = new AbortController()
  const onAbort = () => stop.abort(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const response = await request(`${deploymentPath(id)}/events`, { accept: 'text/event-stream', signal: stop.signal })
    const type = response.headers.get('content-type') ?? ''
    if (!type.startsWith('text/event-stream') || response.body === null) {
      await response.body?.cancel()
      return
    }
    onMode('stream')
    // Each event may change steps or status: refresh the resource, at most one request at a time.
    let refreshing = false
    let again = false
    const refreshSoon = async () => {
      if (refreshing) { again = true; return }
      refreshing = true
      try {
        do {
          again = false
          const current = await refresh()
          if (isFinished(current)) { stop.abort(); return }
        } while (again)
      } catch { /* the poll after the stream retries */ } finally { refreshing = false }
    }
    const parser = createSseParser((message) => { onEvent(message); void refreshSoon() })
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      parser.push(value)
    }
    parser.end()
    await refreshSoon()
  } catch (error) {
    if (signal.aborted) throw error
    // The stream was stopped because the deployment finished, or it broke: the caller polls.
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
