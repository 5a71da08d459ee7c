import type { AlterTableCmd, ColumnDef, Constraint, IndexStmt, Node, RangeVar } from 'libpg-query'
import { loadPgParser } from '../analysis/pg-parser.js'
import type { MigrationFile } from '../domain/index.js'
import { quoteIdent, relationKey, type CheckSpec, type Relation } from './count-spec.js'
import { SqlText } from './sql-text.js'

/** What earlier statements of the plan did to tables, so later checks reason instead of querying. */
class PlanState {
  readonly created = new Map<string, string>()
  readonly changed = new Map<string, string>()
  /** Columns added earlier in the plan: not on the target yet. Table → column → where. */
  readonly addedColumns = new Map<string, Map<string, string>>()
  /** Columns whose type (and so values) an earlier statement changed. Table → column → where. */
  readonly retyped = new Map<string, Map<string, string>>()
  /** Set by a DO block or CALL: any table's rows may have changed. */
  anyChange: string | undefined

  reasonFor (relation: Relation, columns: string[]): string | undefined {
    const key = relationKey(relation)
    const created = this.created.get(key)
    if (created !== undefined) return `created earlier in this plan (${created}): empty on the target, nothing to count`
    const added = columns.filter((c) => this.addedColumns.get(key)?.has(c) === true)
    if (added.length > 0) {
      return `${added.map(quoteIdent).join(', ')} added earlier in this plan (${this.addedColumns.get(key)?.get(added[0] ?? '') ?? ''}): the rehearsal checks it`
    }
    const retyped = columns.find((c) => this.retyped.get(key)?.has(c) === true)
    if (retyped !== undefined) {
      return `${quoteIdent(retyped)} changed type earlier in this plan (${this.retyped.get(key)?.get(retyped) ?? ''}): counting today's values would mislead; the rehearsal checks it`
    }
    const changed = this.changed.get(key) ?? this.anyChange
    return changed === undefined ? undefined : `rows changed earlier in this plan (${changed}): counting today's rows would mislead; the rehearsal checks it`
  }
}

const SERIAL_TYPES = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2'])

function relationOf (range: RangeVar | undefined): Relation {
  return { schema: range?.schemaname, name: range?.relname ?? '' }
}

function stringsOf (nodes: Node[] | undefined): string[] {
  return (nodes ?? []).flatMap((node) => 'String' in node ? [node.String.sval ?? ''] : [])
}

/**
 * Finds, in the parse tree of every pending migration, each statement that can fail on the
 * target's existing rows (SPEC §12), with the count that tells whether it will. Statements on
 * tables the plan created, or whose rows it changed, before them are answered by reasoning.
 */
export async function findChecks (pending: MigrationFile[]): Promise<CheckSpec[]> {
  const parser = await loadPgParser()
  const state = new PlanState()
  const specs: CheckSpec[] = []
  for (const migration of pending) {
    if (migration.appliedBy !== undefined) continue
    const text = new SqlText(migration.sql)
    const statements = parser.parseSync(migration.sql).stmts ?? []
    statements.forEach((raw, statementIndex) => {
      const node = raw.stmt as Node
      const at = `${migration.name}, statement ${statementIndex + 1}`
      const add = (spec: Omit<CheckSpec, 'migration' | 'statementIndex'>): void => {
        const reason = spec.count.kind === 'reasoned' ? undefined : state.reasonFor(spec.relation, spec.columns)
        specs.push({ migration: migration.name, statementIndex, ...spec, ...(reason === undefined ? {} : { count: { kind: 'reasoned', status: 'skipped', reason } }) })
      }
      if ('AlterTableStmt' in node) {
        const relation = relationOf(node.AlterTableStmt.relation)
        for (const cmd of node.AlterTableStmt.cmds ?? []) {
          if ('AlterTableCmd' in cmd) alterTableChecks(cmd.AlterTableCmd, relation, text, state).forEach(add)
        }
        // Recorded after the checks: a column added by this very statement is judged by its own check.
        for (const cmd of node.AlterTableStmt.cmds ?? []) {
          if ('AlterTableCmd' in cmd) recordAlter(cmd.AlterTableCmd, relation, state, at)
        }
      } else if ('IndexStmt' in node) {
        const spec = uniqueIndexCheck(node.IndexStmt, text)
        if (spec !== undefined) add(spec)
      } else if ('CreateStmt' in node) {
        state.created.set(relationKey(relationOf(node.CreateStmt.relation)), at)
      } else if ('CreateTableAsStmt' in node) {
        state.created.set(relationKey(relationOf(node.CreateTableAsStmt.into?.rel)), at)
      } else if ('UpdateStmt' in node || 'DeleteStmt' in node || 'InsertStmt' in node || 'CopyStmt' in node) {
        const target = 'UpdateStmt' in node ? node.UpdateStmt.relation : 'DeleteStmt' in node ? node.DeleteStmt.relation : 'InsertStmt' in node ? node.InsertStmt.relation : node.CopyStmt.relation
        const key = relationKey(relationOf(target))
        if (!state.created.has(key)) state.changed.set(key, `${Object.keys(node)[0]?.replace('Stmt', '').toUpperCase() ?? ''} in ${at}`)
      } else if ('DoStmt' in node || 'CallStmt' in node) {
        state.anyChange ??= `${'DoStmt' in node ? 'a DO block' : 'a CALL'} in ${at}`
      }
    })
  }
  return specs
}

function alterTableChecks (cmd: AlterTableCmd, relation: Relation, text: SqlText, state: PlanState): Array<Omit<CheckSpec, 'migration' | 'statementIndex'>> {
  const column = cmd.name ?? ''
  switch (cmd.subtype) {
    case 'AT_SetNotNull':
      return [{ check: 'not_null', relation, columns: [column], count: { kind: 'nulls', columns: [column] }, describe: `have NULL in ${quoteIdent(column)}` }]
    case 'AT_AddColumn': {
      const def = cmd.def !== undefined && 'ColumnDef' in cmd.def ? cmd.def.ColumnDef : undefined
      return def === undefined ? [] : addColumnChecks(def, relation)
    }
    case 'AT_AddConstraint': {
      const constraint = cmd.def !== undefined && 'Constraint' in cmd.def ? cmd.def.Constraint : undefined
      return constraint === undefined ? [] : constraintChecks(constraint, relation, text, state)
    }
    case 'AT_AlterColumnType': {
      const def = cmd.def !== undefined && 'ColumnDef' in cmd.def ? cmd.def.ColumnDef : undefined
      const typeAt = def?.typeName?.location
      if (typeAt === undefined) return []
      const type = text.until(typeAt, ['USING', 'COLLATE', ','])
      const usingAt = text.after(typeAt, 'USING')
      const value = def?.raw_default !== undefined && usingAt !== undefined ? text.until(usingAt, [',']) : `${quoteIdent(column)}::${type}`
      return [{ check: 'cast', relation, columns: [column], count: { kind: 'casts', column, value }, describe: `have a value in ${quoteIdent(column)} that does not convert to ${type}` }]
    }
    default:
      return []
  }
}

/** A new column is NULL in every existing row unless it has a default (or is serial, identity or generated). */
function addColumnChecks (def: ColumnDef, relation: Relation): Array<Omit<CheckSpec, 'migration' | 'statementIndex'>> {
  const constraints = (def.constraints ?? []).flatMap((c) => 'Constraint' in c ? [c.Constraint] : [])
  const types = constraints.map((c) => c.contype)
  const typeName = stringsOf(def.typeName?.names).at(-1) ?? ''
  const filled = types.includes('CONSTR_DEFAULT') || types.includes('CONSTR_IDENTITY') || types.includes('CONSTR_GENERATED') || SERIAL_TYPES.has(typeName)
  if (filled || !(types.includes('CONSTR_NOTNULL') || types.includes('CONSTR_PRIMARY'))) return []
  const column = def.colname ?? ''
  return [{ check: 'not_null', relation, columns: [column], count: { kind: 'all_rows' }, describe: `would have NULL in the new NOT NULL column ${quoteIdent(column)} (it has no default)` }]
}

function constraintChecks (c: Constraint, relation: Relation, text: SqlText, state: PlanState): Array<Omit<CheckSpec, 'migration' | 'statementIndex'>> {
  const keys = stringsOf(c.keys)
  const notValid = { kind: 'reasoned' as const, status: 'skipped' as const, reason: 'NOT VALID: existing rows are not checked until VALIDATE CONSTRAINT' }
  switch (c.contype) {
    case 'CONSTR_PRIMARY':
      if (c.indexname !== undefined) return []
      return [
        { check: 'not_null', relation, columns: keys, count: { kind: 'nulls', columns: keys }, describe: `have NULL in the primary key ${keys.map(quoteIdent).join(', ')}` },
        { check: 'unique', relation, columns: keys, count: { kind: 'duplicates', keys: keys.map(quoteIdent), where: undefined, nullsDistinct: true }, describe: `share a primary key (${keys.map(quoteIdent).join(', ')}) with another row` }
      ]
    case 'CONSTR_UNIQUE':
      if (c.indexname !== undefined) return []
      return [{ check: 'unique', relation, columns: keys, count: { kind: 'duplicates', keys: keys.map(quoteIdent), where: undefined, nullsDistinct: c.nulls_not_distinct !== true }, describe: `share their key (${keys.map(quoteIdent).join(', ')}) with another row` }]
    case 'CONSTR_FOREIGN': {
      const columns = stringsOf(c.fk_attrs)
      const parent = relationOf(c.pktable)
      const parentColumns = stringsOf(c.pk_attrs)
      const describe = `have ${columns.map(quoteIdent).join(', ')} with no match in ${quoteIdent(parent.name)}`
      if (c.skip_validation === true) return [{ check: 'foreign_key', relation, columns, count: notValid, describe }]
      const parentEmpty = state.created.has(relationKey(parent))
      return [{ check: 'foreign_key', relation, columns, count: { kind: 'orphans', columns, parent, parentColumns: parentColumns.length === 0 ? undefined : parentColumns, parentEmpty }, describe }]
    }
    case 'CONSTR_CHECK': {
      const expression = text.parenthesized(c.location ?? 0, 'CHECK')
      const name = c.conname === undefined ? 'the CHECK constraint' : `CHECK ${quoteIdent(c.conname)}`
      const columns = columnsIn(c.raw_expr)
      if (c.skip_validation === true) return [{ check: 'check', relation, columns, count: notValid, describe: `violate ${name}` }]
      if (expression === undefined) return []
      return [{ check: 'check', relation, columns, count: { kind: 'violations', expression }, describe: `violate ${name}` }]
    }
    default:
      return []
  }
}

function uniqueIndexCheck (index: IndexStmt, text: SqlText): Omit<CheckSpec, 'migration' | 'statementIndex'> | undefined {
  if (index.unique !== true || index.relation === undefined) return undefined
  const relation = relationOf(index.relation)
  const written = text.listAfter(index.relation.location ?? 0)
  const keys = (index.indexParams ?? []).map((param, i) => {
    const elem = 'IndexElem' in param ? param.IndexElem : undefined
    if (elem?.name !== undefined) return quoteIdent(elem.name)
    // An expression, as written, without its ordering or operator class.
    const part = written[i] ?? ''
    return part.startsWith('(') ? part.slice(0, closingOf(part) + 1) : part.replace(/\s+(ASC|DESC|NULLS\s+(FIRST|LAST)|COLLATE\s+\S+|\w+_ops)\b.*$/is, '')
  })
  const whereAt = index.whereClause === undefined ? undefined : text.after(text.afterParenthesis(index.relation.location ?? 0) ?? 0, 'WHERE')
  const where = whereAt === undefined ? undefined : text.until(whereAt, [])
  const columns = (index.indexParams ?? []).map((param, i) => 'IndexElem' in param && param.IndexElem.name !== undefined ? param.IndexElem.name : keys[i] ?? '')
  const name = index.idxname === undefined ? 'the unique index' : `unique index ${quoteIdent(index.idxname)}`
  return { check: 'unique', relation, columns, count: { kind: 'duplicates', keys, where, nullsDistinct: index.nulls_not_distinct !== true }, describe: `share their key in ${name} with another row` }
}

/** The columns an expression names (the last part of each column reference), in order, once each. */
function columnsIn (node: unknown): string[] {
  const found = new Set<string>()
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) { value.forEach(walk); return }
    if (typeof value !== 'object' || value === null) return
    const ref = (value as { ColumnRef?: { fields?: Node[] } }).ColumnRef
    if (ref !== undefined) {
      const last = stringsOf(ref.fields).at(-1)
      if (last !== undefined) found.add(last)
      return
    }
    Object.values(value).forEach(walk)
  }
  walk(node)
  return [...found]
}

function closingOf (text: string): number {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++
    else if (text[i] === ')' && --depth === 0) return i
  }
  return text.length - 1
}

function recordAlter (cmd: AlterTableCmd, relation: Relation, state: PlanState, at: string): void {
  const key = relationKey(relation)
  if (cmd.subtype === 'AT_AddColumn' && cmd.def !== undefined && 'ColumnDef' in cmd.def) {
    // Existing rows keep their values; only checks on the new column reason from the plan.
    const columns = state.addedColumns.get(key) ?? new Map<string, string>()
    columns.set(cmd.def.ColumnDef.colname ?? '', at)
    state.addedColumns.set(key, columns)
  } else if (cmd.subtype === 'AT_AlterColumnType' && !state.created.has(key)) {
    const columns = state.retyped.get(key) ?? new Map<string, string>()
    columns.set(cmd.name ?? '', at)
    state.retyped.set(key, columns)
  }
}
