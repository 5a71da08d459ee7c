import { loadedPgParser } from '../analysis/pg-parser.js'

interface Token { start: number, end: number, text: string, comment: boolean }

/**
 * A migration file's text with its tokens, to cut expressions out of it as written: libpg-query
 * parses but does not deparse, and a parse node's `location` is its operator, not its start.
 * Offsets are in UTF-8 bytes, as the parser's are. Call after `loadPgParser()`.
 */
export class SqlText {
  private readonly bytes: Buffer
  private readonly tokens: Token[]

  constructor (text: string) {
    this.bytes = Buffer.from(text, 'utf8')
    this.tokens = (loadedPgParser().scanSync(text).tokens ?? [])
      .map((t) => ({ start: t.start, end: t.end, text: t.text, comment: t.tokenName === 'SQL_COMMENT' || t.tokenName === 'C_COMMENT' }))
      .filter((t) => !t.comment)
  }

  private indexAt (offset: number): number {
    const index = this.tokens.findIndex((t) => t.start >= offset)
    return index === -1 ? this.tokens.length : index
  }

  private slice (from: number, to: number): string {
    const first = this.tokens[from]
    const last = this.tokens[to]
    if (first === undefined || last === undefined || to < from) return ''
    return this.bytes.subarray(first.start, last.end).toString('utf8')
  }

  /**
   * The text inside the first parenthesis opened at or after `offset` (after `keyword`, when given),
   * without the parentheses: `CHECK (age > 0)` → `age > 0`.
   */
  parenthesized (offset: number, keyword?: string): string | undefined {
    let index = this.indexAt(offset)
    if (keyword !== undefined) {
      while (index < this.tokens.length && this.tokens[index]?.text.toUpperCase() !== keyword) index++
    }
    while (index < this.tokens.length && this.tokens[index]?.text !== '(') index++
    const close = this.matching(index)
    return close === undefined ? undefined : this.slice(index + 1, close - 1)
  }

  /** The parts of the parenthesised list opened at or after `offset`, split at its top-level commas. */
  listAfter (offset: number): string[] {
    let index = this.indexAt(offset)
    while (index < this.tokens.length && this.tokens[index]?.text !== '(') index++
    const close = this.matching(index)
    if (close === undefined) return []
    const parts: string[] = []
    let depth = 0
    let from = index + 1
    for (let i = index + 1; i < close; i++) {
      const text = this.tokens[i]?.text
      if (text === '(') depth++
      else if (text === ')') depth--
      else if (text === ',' && depth === 0) {
        parts.push(this.slice(from, i - 1))
        from = i + 1
      }
    }
    parts.push(this.slice(from, close - 1))
    return parts
  }

  /**
   * The text from the first token at or after `offset` up to (not including) a top-level token in
   * `stops` (upper-cased keywords or punctuation), or the end of the statement (`;`).
   */
  until (offset: number, stops: string[]): string {
    const from = this.indexAt(offset)
    let depth = 0
    let i = from
    for (; i < this.tokens.length; i++) {
      const text = (this.tokens[i] as Token).text
      if (depth === 0 && (text === ';' || stops.includes(text.toUpperCase()))) break
      if (text === '(') depth++
      else if (text === ')') {
        if (depth === 0) break
        depth--
      }
    }
    return this.slice(from, i - 1)
  }

  /** The offset just after the first top-level `keyword` at or after `offset` in the same statement. */
  after (offset: number, keyword: string): number | undefined {
    let depth = 0
    for (let i = this.indexAt(offset); i < this.tokens.length; i++) {
      const token = this.tokens[i] as Token
      if (token.text === ';') return undefined
      if (token.text === '(') depth++
      else if (token.text === ')') depth--
      else if (depth === 0 && token.text.toUpperCase() === keyword) return token.end
    }
    return undefined
  }

  /** The offset just after the parenthesis that closes the one opened at or after `offset`. */
  afterParenthesis (offset: number): number | undefined {
    let index = this.indexAt(offset)
    while (index < this.tokens.length && this.tokens[index]?.text !== '(') index++
    const close = this.matching(index)
    return close === undefined ? undefined : this.tokens[close]?.end
  }

  private matching (open: number): number | undefined {
    if (this.tokens[open]?.text !== '(') return undefined
    let depth = 0
    for (let i = open; i < this.tokens.length; i++) {
      const text = this.tokens[i]?.text
      if (text === '(') depth++
      else if (text === ')' && --depth === 0) return i
    }
    return undefined
  }
}
