import type { Node } from 'libpg-query'
import type { StatementKind } from '../domain/index.js'
import { loadPgParser } from './pg-parser.js'
import { splitStatements } from './split-statements.js'

/** One risky thing a statement does, read from its parse tree: `DROP COLUMN` on `"User"."email"`. */
export interface StatementMatch {
  kind: StatementKind
  /** The object it acts on, quoted as PostgreSQL would print it. */
  target: string
  /** 1-based line of the file on which the statement begins. */
  line: number
}

type Tree = Record<string, unknown>
const quote = (name: unknown): string => `"${String(name).replaceAll('"', '""')}"`

function relationName (relation: unknown): string {
  const r = (relation ?? {}) as { schemaname?: string, relname?: string }
  return r.schemaname === undefined ? quote(r.relname ?? '?') : `${quote(r.schemaname)}.${quote(r.relname ?? '?')}`
}

/** `DROP … a.b` objects: a List of String nodes, or a single String (schemas), or a TypeName. */
function objectName (object: unknown): string {
  const node = object as Tree
  const items = ((node.List as Tree | undefined)?.items ?? (node.TypeName as Tree | undefined)?.names ?? [node]) as Tree[]
  return items.map((item) => quote((item.String as { sval?: string } | undefined)?.sval ?? '?')).join('.')
}

const DROP_KINDS: Record<string, StatementKind> = {
  OBJECT_TABLE: 'DROP TABLE',
  OBJECT_SCHEMA: 'DROP SCHEMA',
  OBJECT_INDEX: 'DROP INDEX',
  OBJECT_VIEW: 'DROP VIEW',
  OBJECT_MATVIEW: 'DROP VIEW',
  OBJECT_TYPE: 'DROP TYPE',
  OBJECT_FUNCTION: 'DROP FUNCTION',
  OBJECT_PROCEDURE: 'DROP FUNCTION'
}

const ALTER_KINDS: Record<string, StatementKind> = {
  AT_DropColumn: 'DROP COLUMN',
  AT_AlterColumnType: 'ALTER COLUMN TYPE',
  AT_SetNotNull: 'SET NOT NULL',
  AT_AddColumn: 'ADD COLUMN',
  AT_DropConstraint: 'DROP CONSTRAINT',
  AT_AddConstraint: 'ADD CONSTRAINT'
}

/** What one parsed statement does, as the kinds a risk rule can name (several for an ALTER TABLE). */
export function statementKinds (node: Node): Array<Omit<StatementMatch, 'line'>> {
  const [type, body] = Object.entries(node as Tree)[0] ?? ['', {}]
  const stmt = body as Tree
  switch (type) {
    case 'DropStmt': {
      const kind = DROP_KINDS[String(stmt.removeType)]
      return kind === undefined ? [] : ((stmt.objects ?? []) as unknown[]).map((object) => ({ kind, target: objectName(object) }))
    }
    case 'TruncateStmt':
      return ((stmt.relations ?? []) as Tree[]).map((relation) => ({ kind: 'TRUNCATE', target: relationName(relation.RangeVar) }))
    case 'DeleteStmt': return [{ kind: 'DELETE', target: relationName(stmt.relation) }]
    case 'UpdateStmt': return [{ kind: 'UPDATE', target: relationName(stmt.relation) }]
    case 'CreateStmt': return [{ kind: 'CREATE TABLE', target: relationName(stmt.relation) }]
    case 'IndexStmt': return [{ kind: 'CREATE INDEX', target: quote(stmt.idxname ?? relationName(stmt.relation)) }]
    case 'RenameStmt': {
      if (stmt.renameType === 'OBJECT_COLUMN') return [{ kind: 'RENAME COLUMN', target: `${relationName(stmt.relation)}.${quote(stmt.subname)}` }]
      if (stmt.renameType === 'OBJECT_TABLE') return [{ kind: 'RENAME TABLE', target: relationName(stmt.relation) }]
      return []
    }
    case 'AlterTableStmt': {
      const table = relationName(stmt.relation)
      const commands = ((stmt.cmds ?? []) as Tree[]).map((cmd) => cmd.AlterTableCmd as Tree)
      return [
        { kind: 'ALTER TABLE', target: table },
        ...commands.flatMap((cmd): Array<Omit<StatementMatch, 'line'>> => {
          const kind = ALTER_KINDS[String(cmd.subtype)]
          if (kind === undefined) return []
          const column = ((cmd.def as Tree | undefined)?.ColumnDef as { colname?: string } | undefined)?.colname ?? cmd.name
          return [{ kind, target: column === undefined ? table : `${table}.${quote(column)}` }]
        })
      ]
    }
    default: return []
  }
}

/**
 * Every risky kind of statement in a migration file, found in the PostgreSQL parser's tree (a
 * `DROP COLUMN` inside a string or a comment is not one). A file that does not parse has none
 * here: the plan fails on its syntax error first.
 */
export async function findStatementKinds (sql: string): Promise<StatementMatch[]> {
  const { parseSync } = await loadPgParser()
  if (sql.trim() === '') return []
  let stmts
  try {
    stmts = parseSync(sql).stmts ?? []
  } catch {
    return []
  }
  return splitStatements(sql, stmts).flatMap((statement) => statementKinds(statement.node).map((match) => ({ ...match, line: statement.line })))
}
