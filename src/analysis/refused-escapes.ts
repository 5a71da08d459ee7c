import { ESCAPE_CATEGORIES, type EscapingStatement } from '../domain/escape-categories.js'

/** One refused statement of a migration, as the report lists it. */
export interface RefusedStatement {
  migration: string
  line: number
  statement: string
  /** The name `policy.allow_statements` would list it under. */
  category: string
  /** What it could reach. */
  reach: string
}

/** The escapes an environment does not allow (`policy.allow_statements` lists the allowed categories). */
export function refusedStatements (migration: string, escapes: readonly EscapingStatement[], allowed: readonly string[]): RefusedStatement[] {
  return escapes.filter((escape) => !allowed.includes(escape.category))
    .map((escape) => ({ migration, line: escape.line, statement: escape.statement, category: escape.category, reach: ESCAPE_CATEGORIES[escape.category] }))
}

/** `migration X line 3: COPY … TO PROGRAM (COPY PROGRAM: runs a program on the database server …)`. */
export function describeRefused (refused: readonly RefusedStatement[]): string {
  return refused.map((r) => `migration ${r.migration} line ${r.line}: ${r.statement} (${r.category}: ${r.reach})`).join('; ')
}

/** The fix, for the report's suggestions and the error's message. */
export function allowStatementsHint (environment: string, refused: readonly RefusedStatement[]): string {
  const categories = [...new Set(refused.map((r) => r.category))]
  const them = refused.length === 1 ? 'it' : 'them'
  const their = categories.length === 1 ? 'its category' : 'their categories'
  return `if ${environment} really needs ${them}, an operator lists ${their} in environments.${environment}.policy.allow_statements in the config: ` +
    `[${categories.join(', ')}]`
}
