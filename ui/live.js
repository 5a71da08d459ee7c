// Following a deployment while it runs: Server-Sent Events from GET /deployments/:id/events
// read through fetch (so the bearer header goes along), or, when the server answers with
// something other than an event stream, polling GET /deployments/:id.

import { deploymentPath, getJson, request, TERMINAL_STATUSES } from './api.js'
import { delay } from './dom.js'
import { createSseParser } from './sse.js'

export const POLL_INTERVAL_MS = 1500

/** A deployment stops moving on its own when it ends or waits for a person. @param {{status: string}} deployment */
export const isSettled = (deployment) => TERMINAL_STATUSES.has(deployment.status) || deployment.status === 'pending_approval'

/**
 * Follows a deployment until it settles, calling `onUpdate` with each newer resource and
 * `onEvent` with each streamed event. Resolves with the settled deployment; rejects when
 * `signal` aborts (the reader left the page) or a request fails.
 * @param {string} id
 * @param {{
 *   signal: AbortSignal,
 *   onUpdate: (deployment: any) => void,
 *   onEvent?: (message: import('./sse.js').SseMessage) => void,
 *   onMode?: (mode: 'stream' | 'polling') => void
 * }} handlers
 */
export async function followDeployment (id, { signal, onUpdate, onEvent = () => {}, onMode = () => {} }) {
  let deployment = await getJson(deploymentPath(id), { signal })
  onUpdate(deployment)
  if (isSettled(deployment)) return deployment

  /** @param {any} next */
  const accept = (next) => { deployment = next; onUpdate(next) }
  await streamEvents(id, { signal, onEvent, onMode, refresh: async () => { accept(await getJson(deploymentPath(id), { signal })); return deployment } })

  // Not an event stream, or the stream ended before the deployment did: poll.
  if (!isSettled(deployment)) onMode('polling')
  while (!isSettled(deployment)) {
    await delay(POLL_INTERVAL_MS, signal)
    accept(await getJson(deploymentPath(id), { signal }))
  }
  return deployment
}

/**
 * Reads the events endpoint as SSE. Returns once the stream ends, the deployment settles, or
 * the server turns out not to stream (a JSON answer); the caller then polls as needed.
 * @param {string} id
 * @param {{
 *   signal: AbortSignal,
 *   onEvent: (message: import('./sse.js').SseMessage) => void,
 *   onMode: (mode: 'stream' | 'polling') => void,
 *   refresh: () => Promise<{status: string}>
 * }} options
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
          if (isSettled(current)) { stop.abort(); return }
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
    // The stream was stopped because the deployment settled, or it broke: the caller polls.
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
