import type { Node, RawStmt } from 'libpg-query'
import { loadedPgParser } from './pg-parser.js'

/** One statement of a file: its exact text (comments attached), where it starts, and its parse node. */
export interface SplitStatement {
  sql: string
  /** 1-based line of the file on which `sql` begins. */
  line: number
  node: Node
}

interface Span { start: number, end: number }

type TokenKind = 'comment' | 'semicolon' | 'other'
interface Token { start: number, end: number, kind: TokenKind }

const NEWLINE = 0x0a

function tokenKind (name: string, text: string): TokenKind {
  if (name === 'SQL_COMMENT' || name === 'C_COMMENT') return 'comment'
  return text === ';' ? 'semicolon' : 'other'
}

/**
 * Cuts a parsed file into its statements' original text. The parser gives each statement's
 * first token and its length up to (not including) the `;`, in UTF-8 bytes; the scanner gives
 * every comment. A statement's text runs from its first token through its `;`, plus:
 * - comments before it, back to the previous statement (Prisma's `-- CreateIndex` headers);
 * - comments after its `;` on the same line (`...; -- why`), and, for the last statement,
 *   every comment that follows it, so no comment of the file is lost.
 *
 * Must be called after `loadPgParser()`; `parsed` is `parseSync(text).stmts`.
 */
export function splitStatements (text: string, parsed: RawStmt[]): SplitStatement[] {
  if (parsed.length === 0) return []
  const bytes = Buffer.from(text, 'utf8')
  const tokens = tokensBetweenStatements(bytes, parsed) ?? scan(bytes, 0, bytes.length)
  const lastCodeEnd = tokens.reduce((end, t) => (t.kind === 'other' ? t.end : end), 0)

  // The statements and the tokens are both in file order, so one cursor walks both.
  let cursor = 0
  const nextCode = (from: number): Token | undefined => {
    while (cursor < tokens.length && ((tokens[cursor] as Token).start < from || (tokens[cursor] as Token).kind === 'comment')) cursor++
    return tokens[cursor]
  }
  const cores: Span[] = parsed.map((raw) => {
    const location = raw.stmt_location ?? 0
    const start = nextCode(location)?.start ?? location
    let end = raw.stmt_len !== undefined && raw.stmt_len > 0 ? location + raw.stmt_len : lastCodeEnd
    const after = nextCode(end)
    if (after?.kind === 'semicolon') end = after.end
    return { start, end }
  })

  const spans = cores.map((core) => ({ ...core }))
  let next = 0
  for (const token of tokens) {
    if (token.kind !== 'comment') continue
    while (next < cores.length && (cores[next] as Span).start <= token.start) next++
    const previous = cores[next - 1]
    if (previous !== undefined && token.end <= previous.end) continue // inside a statement
    const owner = ownerOfComment(bytes, token, previous, next, cores.length)
    const span = spans[owner] as Span
    span.start = Math.min(span.start, token.start)
    span.end = Math.max(span.end, token.end)
  }

  let line = 1
  let counted = 0
  return spans.map((span, index) => {
    line += countNewlines(bytes, counted, span.start)
    counted = span.start
    return { sql: bytes.subarray(span.start, span.end).toString('utf8'), line, node: (parsed[index] as RawStmt).stmt as Node }
  })
}

/** Which statement a comment between statements belongs to (`next` is the one after it). */
function ownerOfComment (bytes: Buffer, comment: Token, previous: Span | undefined, next: number, count: number): number {
  if (previous === undefined) return 0
  if (next === count) return count - 1
  const newline = bytes.indexOf(NEWLINE, previous.end)
  const sameLineAsPrevious = newline === -1 || comment.start < newline
  return sameLineAsPrevious ? next - 1 : next
}

/** The tokens of `bytes[from, to)` as the PostgreSQL scanner reads them, at their offsets in `bytes`. */
function scan (bytes: Buffer, from: number, to: number): Token[] {
  const tokens = loadedPgParser().scanSync(bytes.subarray(from, to).toString('utf8')).tokens ?? []
  return tokens.map((t) => ({ start: from + t.start, end: from + t.end, kind: tokenKind(t.tokenName, t.text) }))
}

/**
 * The file's tokens with each statement's body as one `other` token: only the text between
 * statements (whitespace, `;` and comments, by the grammar) goes through the scanner. Scanning
 * the whole file cost about three times its parse (documenso's 163 files: 40-50 ms against
 * 15-20 ms), nearly all of it in statement bodies, whose tokens nothing here needs.
 *
 * Returns undefined, and the caller scans the whole file, when the parser's offsets are not
 * what this relies on: a statement that starts on whitespace or a comment, or a code token
 * between two statements.
 */
function tokensBetweenStatements (bytes: Buffer, parsed: RawStmt[]): Token[] | undefined {
  const tokens: Token[] = []
  let from = 0
  for (const raw of parsed) {
    const location = raw.stmt_location ?? 0
    if (location < from || startsWithTrivia(bytes, location)) return undefined
    if (!addGap(tokens, bytes, from, location)) return undefined
    if (raw.stmt_len === undefined || raw.stmt_len <= 0) {
      // The last statement, without a `;`: its own tokens say where its code ends.
      tokens.push(...scan(bytes, location, bytes.length))
      return tokens
    }
    tokens.push({ start: location, end: location + raw.stmt_len, kind: 'other' })
    from = location + raw.stmt_len
  }
  return addGap(tokens, bytes, from, bytes.length) ? tokens : undefined
}

const SEMICOLON = 0x3b

/** Adds the semicolons and comments of `bytes[from, to)`; false if it holds any other token. */
function addGap (tokens: Token[], bytes: Buffer, from: number, to: number): boolean {
  let plain = true
  for (let i = from; i < to && plain; i++) plain = bytes[i] === SEMICOLON || isSpace(bytes[i] as number)
  if (plain) {
    // Only whitespace and semicolons: no scanner needed.
    for (let i = bytes.indexOf(SEMICOLON, from); i !== -1 && i < to; i = bytes.indexOf(SEMICOLON, i + 1)) tokens.push({ start: i, end: i + 1, kind: 'semicolon' })
    return true
  }
  const gap = scan(bytes, from, to)
  if (gap.some((t) => t.kind === 'other')) return false
  tokens.push(...gap)
  return true
}

function startsWithTrivia (bytes: Buffer, at: number): boolean {
  const byte = bytes[at]
  if (byte === undefined) return false
  if (isSpace(byte)) return true
  const pair = bytes.toString('latin1', at, at + 2)
  return pair === '--' || pair === '/*'
}

/** PostgreSQL's whitespace (scan.l: space, tab, newline, carriage return, form feed, vertical tab). */
function isSpace (byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)
}

function countNewlines (bytes: Buffer, from: number, to: number): number {
  let count = 0
  for (let i = bytes.indexOf(NEWLINE, from); i !== -1 && i < to; i = bytes.indexOf(NEWLINE, i + 1)) count++
  return count
}
