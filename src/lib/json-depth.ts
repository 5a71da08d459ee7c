const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACKET = 0x5b
const OPEN_BRACE = 0x7b
const CLOSE_BRACKET = 0x5d
const CLOSE_BRACE = 0x7d

/**
 * Whether a JSON text nests arrays and objects more than `maxDepth` deep, found by one scan of the
 * raw text (brackets inside strings do not count), before anything parses it: `JSON.parse` and
 * every walk over the result (validation, the NUL check) cost time per level, and a 2 MB body can
 * nest a million levels. Stops at the first level past the limit. Says nothing about validity:
 * the parser still decides that.
 */
export function jsonNestsDeeperThan (text: string, maxDepth: number): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === QUOTE) {
      i = stringEnd(text, i)
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > maxDepth) return true
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth--
    }
  }
  return false
}

/** The index of the quote closing the string opened at `start` (strings may be megabytes of SQL: indexOf, not a loop). */
function stringEnd (text: string, start: number): number {
  let quote = text.indexOf('"', start + 1)
  while (quote !== -1) {
    let backslashes = 0
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote
    quote = text.indexOf('"', quote + 1)
  }
  return text.length
}
