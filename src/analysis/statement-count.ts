const SEMICOLON = 0x3b
const SINGLE_QUOTE = 0x27
const DOUBLE_QUOTE = 0x22
const DOLLAR = 0x24
const DASH = 0x2d
const SLASH = 0x2f
const STAR = 0x2a
const BACKSLASH = 0x5c

/** Letters, digits, `_`, `$` and anything non-ASCII: what may precede `$` inside an identifier. */
function isIdentifierChar (code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === DOLLAR || code > 0x7f
}

function isWhitespace (code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d)
}

/** Where `$tag$` (or `$$`) starting at `start` ends, or -1 when `$` does not open a dollar quote there. */
function dollarTagEnd (sql: string, start: number): number {
  if (start > 0 && isIdentifierChar(sql.charCodeAt(start - 1))) return -1 // `a$b$`: part of an identifier
  let i = start + 1
  const first = sql.charCodeAt(i)
  if (first >= 0x30 && first <= 0x39) return -1 // `$1`: a parameter
  while (i < sql.length && sql.charCodeAt(i) !== DOLLAR) {
    if (!isIdentifierChar(sql.charCodeAt(i))) return -1
    i++
  }
  return i < sql.length ? i + 1 : -1
}

/** The index just past the quote closing a `'…'` literal opened at `start` (`''` escapes; `E'…'` also `\'`). */
function quotedEnd (sql: string, start: number, quote: number, backslashEscapes: boolean): number {
  for (let i = start + 1; i < sql.length; i++) {
    const code = sql.charCodeAt(i)
    if (backslashEscapes && code === BACKSLASH) { i++; continue }
    if (code !== quote) continue
    if (sql.charCodeAt(i + 1) === quote) { i++; continue }
    return i + 1
  }
  return sql.length
}

/** The index just past the `*\/` closing a (nestable) block comment opened at `start`. */
function blockCommentEnd (sql: string, start: number): number {
  let depth = 0
  for (let i = start; i < sql.length - 1; i++) {
    const code = sql.charCodeAt(i)
    if (code === SLASH && sql.charCodeAt(i + 1) === STAR) { depth++; i++ } else if (code === STAR && sql.charCodeAt(i + 1) === SLASH) {
      depth--
      i++
      if (depth === 0) return i + 1
    }
  }
  return sql.length
}

/**
 * Counts the statements of a SQL text the cheap way, without parsing: the `;`s outside string
 * literals, quoted identifiers, dollar-quoted bodies and comments that end something other than
 * whitespace and comments, plus a last statement without its `;`. One pass over the text, a few
 * milliseconds per megabyte, so it can run where parsing must not (in the API's request path).
 *
 * Never fewer than the PostgreSQL parser finds: it can only count more, for a `;` inside a
 * `BEGIN ATOMIC … END` function body, which the parser keeps in one statement. Stops counting
 * once it passes `stopAbove` (the answer is then `stopAbove + 1`).
 */
export function countStatements (sql: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let count = 0
  let hasContent = false
  let i = 0
  while (i < sql.length) {
    const code = sql.charCodeAt(i)
    if (code === SEMICOLON) {
      if (hasContent && ++count > stopAbove) return count
      hasContent = false
      i++
    } else if (code === DASH && sql.charCodeAt(i + 1) === DASH) {
      const newline = sql.indexOf('\n', i)
      i = newline === -1 ? sql.length : newline + 1
    } else if (code === SLASH && sql.charCodeAt(i + 1) === STAR) {
      i = blockCommentEnd(sql, i)
    } else if (code === SINGLE_QUOTE) {
      // E'…' (and e'…') take backslash escapes; other literals do not (standard_conforming_strings).
      const prefix = sql.charCodeAt(i - 1)
      const escaped = (prefix === 0x45 || prefix === 0x65) && !isIdentifierChar(sql.charCodeAt(i - 2))
      i = quotedEnd(sql, i, SINGLE_QUOTE, escaped)
      hasContent = true
    } else if (code === DOUBLE_QUOTE) {
      i = quotedEnd(sql, i, DOUBLE_QUOTE, false)
      hasContent = true
    } else if (code === DOLLAR) {
      const tagEnd = dollarTagEnd(sql, i)
      if (tagEnd === -1) {
        i++
      } else {
        const close = sql.indexOf(sql.slice(i, tagEnd), tagEnd)
        i = close === -1 ? sql.length : close + (tagEnd - i)
      }
      hasContent = true
    } else {
      if (!isWhitespace(code)) hasContent = true
      i++
    }
  }
  return hasContent ? count + 1 : count
}
