import type { ParseResult } from 'libpg-query'
import type { EscapingStatement } from '../domain/escape-categories.js'
import { escapesOf } from './escaping-statements.js'
import { loadPgParser } from './pg-parser.js'
import { nonTransactionalReason } from './non-transactional.js'
import { splitStatements } from './split-statements.js'

/** One statement of a migration file. */
export interface AnalyzedStatement {
  /** The statement's exact original text, through its `;`, with its comments (see below). */
  sql: string
  /** The parse node type, e.g. `CreateStmt`, `IndexStmt`, `AlterTableStmt`, `TransactionStmt`. */
  kind: string
  /** 1-based line of the file on which `sql` begins. */
  line: number
}

/** A syntax error as the PostgreSQL parser reports it. */
export interface SqlParseError {
  /** The parser's message, e.g. `syntax error at or near "SELEC"`. */
  message: string
  /** 0-based index into the analysed string (UTF-16 units, so `sql.slice(cursorPosition)` starts at the culprit). */
  cursorPosition?: number
  /** 1-based line of `cursorPosition`. */
  line?: number
}

/** What the plan and the apply step need to know about one migration file. */
export interface SqlAnalysis {
  /** The file cut into statements, in order; empty on a parse error or a file without statements. */
  statements: AnalyzedStatement[]
  /** False when any statement is one PostgreSQL refuses inside a transaction block. */
  transactional: boolean
  /** One sentence per refused statement, e.g. `CREATE INDEX CONCURRENTLY "User_name_idx" cannot run inside a transaction block`. */
  nonTransactionalReasons: string[]
  /** True when the file has its own BEGIN / START TRANSACTION / COMMIT / ROLLBACK / SAVEPOINT…: never wrap it in another transaction. */
  managesOwnTransaction: boolean
  /**
   * Statements that reach beyond the target database (`COPY … PROGRAM`, `lo_import`, dblink,
   * untrusted languages, …; see `ESCAPE_CATEGORIES`), found in the parse tree, bodies included.
   * Refused unless the environment's `policy.allow_statements` lists their category.
   */
  escapes: EscapingStatement[]
  /** Set when the file does not parse; the other fields then describe nothing. */
  parseError?: SqlParseError
}

/**
 * Analyses a migration file with the real PostgreSQL parser (libpg_query, PostgreSQL 18's
 * grammar, compiled to WASM): its statements, and whether it can run in one transaction.
 *
 * How to apply the result:
 * - `transactional && !managesOwnTransaction`: run the file in one transaction with its history row.
 * - otherwise: run `statements` one at a time, each as its own query, outside any transaction.
 *   Sending the whole file as one multi-statement query is not enough: PostgreSQL runs such a
 *   query in an implicit transaction block and still refuses `CREATE INDEX CONCURRENTLY` & co.
 *
 * Statement text: each statement runs from its first token through its `;`. Comments before it
 * (back to the previous statement) belong to it, as do comments after its `;` on the same line;
 * comments after the last statement belong to the last. So the texts, in order, hold every
 * comment and token of the file; only whitespace between them and stray `;`s are left out.
 *
 * Never throws on bad SQL: a syntax error comes back as `parseError`, with `transactional: true`
 * (a file that fails in a transaction leaves nothing behind).
 *
 * Limits: decided from the parse tree alone, so `CLUSTER` / `REINDEX` on a partitioned table
 * (refused in a transaction, which only the catalog can tell) read as transactional, and a
 * `DO` block or procedure that commits is not looked into. `ALTER TYPE … ADD VALUE` is
 * transactional (PostgreSQL ≥ 12), though the new value cannot be used before the commit.
 */
export async function analyzeMigrationSql (sql: string): Promise<SqlAnalysis> {
  const { hasSqlDetails, parseSync } = await loadPgParser()
  const analysis: SqlAnalysis = { statements: [], transactional: true, nonTransactionalReasons: [], managesOwnTransaction: false, escapes: [] }
  if (sql === '') return analysis // the parser refuses an empty string; a file of only comments is fine
  const nul = sql.indexOf('\0')
  if (nul !== -1) {
    // The parser reads a C string and would silently stop there; PostgreSQL refuses the byte.
    analysis.parseError = { message: 'the file contains a NUL byte, which PostgreSQL does not accept', cursorPosition: nul, line: sql.slice(0, nul).split('\n').length }
    return analysis
  }

  let parsed: ParseResult
  try {
    parsed = parseSync(sql)
  } catch (error) {
    if (!hasSqlDetails(error)) throw error
    analysis.parseError = parseErrorOf(sql, error.message, error.sqlDetails?.cursorPosition)
    return analysis
  }

  for (const statement of splitStatements(sql, parsed.stmts ?? [])) {
    const kind = Object.keys(statement.node)[0] ?? 'Unknown'
    analysis.statements.push({ sql: statement.sql, kind, line: statement.line })
    if (kind === 'TransactionStmt') analysis.managesOwnTransaction = true
    const reason = nonTransactionalReason(statement.node)
    if (reason !== undefined) analysis.nonTransactionalReasons.push(reason)
    for (const escape of escapesOf(statement.node, statement.sql)) analysis.escapes.push({ ...escape, line: statement.line })
  }
  analysis.transactional = analysis.nonTransactionalReasons.length === 0
  return analysis
}

function parseErrorOf (sql: string, message: string, codePoints: number | undefined): SqlParseError {
  if (codePoints === undefined) return { message }
  // The parser counts characters (code points), JavaScript strings count UTF-16 units.
  let index = 0
  let counted = 0
  for (const char of sql) {
    if (counted === codePoints) break
    index += char.length
    counted++
  }
  const line = sql.slice(0, index).split('\n').length
  return { message, cursorPosition: index, line }
}
