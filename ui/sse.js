// A Server-Sent Events parser for a fetch() body. EventSource cannot send an Authorization
// header, so the page reads the stream itself; this follows the WHATWG event-stream rules:
// lines end in CRLF, LF or CR; ":" starts a comment; "data" lines join with "\n"; a blank
// line dispatches; "id" sets the last event id; "retry" sets the reconnection delay.

/**
 * @typedef {{ event: string, data: string, id: string | null }} SseMessage
 */

/**
 * @param {(message: SseMessage) => void} onMessage
 * @returns {{ push: (chunk: string) => void, end: () => void, lastEventId: () => string | null, retryMs: () => number | null }}
 */
export function createSseParser (onMessage) {
  let buffer = ''
  let pendingCr = false
  /** @type {string[]} */
  let data = []
  let event = ''
  /** @type {string | null} */
  let lastEventId = null
  /** @type {number | null} */
  let retry = null

  function dispatch () {
    if (data.length > 0) onMessage({ event: event === '' ? 'message' : event, data: data.join('\n'), id: lastEventId })
    data = []
    event = ''
  }

  /** @param {string} line */
  function processLine (line) {
    if (line === '') { dispatch(); return }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
    else if (field === 'id' && !value.includes('\0')) lastEventId = value
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value)
  }

  return {
    push (chunk) {
      let text = chunk
      // A CR at the end of the previous chunk may be the first half of a CRLF.
      if (pendingCr && text.startsWith('\n')) text = text.slice(1)
      pendingCr = false
      buffer += text
      let match
      while ((match = /\r\n|\r|\n/.exec(buffer)) !== null) {
        if (match[0] === '\r' && match.index === buffer.length - 1) pendingCr = true
        processLine(buffer.slice(0, match.index))
        buffer = buffer.slice(match.index + match[0].length)
      }
    },
    // An incomplete event at the end of the stream is discarded, as the spec says.
    end () { buffer = ''; data = []; event = '' },
    lastEventId: () => lastEventId,
    retryMs: () => retry
  }
}
