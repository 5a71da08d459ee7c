/** One Server-Sent Event as the wire carries it. */
export interface ServerSentEvent {
  /** The `id:` field, if the event had one. */
  id: string | undefined
  /** The `event:` field; `message` when absent. */
  event: string
  data: string
}

/**
 * Parses a text/event-stream body into events (the WHATWG rules that matter here: `field: value`
 * lines, `data` lines joined by newlines, comments and `retry` ignored, a blank line dispatches).
 */
export async function * parseEventStream (body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  let id: string | undefined
  let event = ''
  let data: string[] = []
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true })
    let newline = buffer.search(/\r\n|\r|\n/)
    while (newline !== -1) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(buffer[newline] === '\r' && buffer[newline + 1] === '\n' ? newline + 2 : newline + 1)
      if (line === '') {
        if (data.length > 0) yield { id, event: event === '' ? 'message' : event, data: data.join('\n') }
        id = undefined
        event = ''
        data = []
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'data') data.push(value)
        else if (field === 'event') event = value
        else if (field === 'id' && !value.includes('\0')) id = value
      }
      newline = buffer.search(/\r\n|\r|\n/)
    }
  }
}
