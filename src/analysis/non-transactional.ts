import type { DefElem, Node, RangeVar } from 'libpg-query'

const REFUSED = 'cannot run inside a transaction block'

/**
 * Why PostgreSQL refuses this statement inside a transaction block (its `PreventInTransactionBlock`
 * callers, SQLSTATE 25001), or `undefined` when it accepts it. Decided from the parse tree
 * alone, so two catalog-dependent refusals are not seen: `CLUSTER` and `REINDEX TABLE|INDEX` on
 * a partitioned table. `DROP SUBSCRIPTION` is flagged whether or not the subscription has a
 * replication slot (the refusal's condition), since the catalog is not known here.
 */
export function nonTransactionalReason (node: Node): string | undefined {
  const statement = refusedStatement(node)
  return statement === undefined ? undefined : `${statement} ${REFUSED}`
}

function refusedStatement (node: Node): string | undefined {
  if ('IndexStmt' in node) {
    const s = node.IndexStmt
    if (s.concurrent !== true) return undefined
    const verb = s.unique === true ? 'CREATE UNIQUE INDEX CONCURRENTLY' : 'CREATE INDEX CONCURRENTLY'
    return s.idxname !== undefined ? `${verb} ${ident(s.idxname)}` : `${verb} on ${relation(s.relation)}`
  }
  if ('DropStmt' in node) {
    const s = node.DropStmt
    if (s.removeType !== 'OBJECT_INDEX' || s.concurrent !== true) return undefined
    return `DROP INDEX CONCURRENTLY ${(s.objects ?? []).map(qualifiedName).join(', ')}`
  }
  if ('ReindexStmt' in node) {
    const s = node.ReindexStmt
    const object = (s.kind ?? '').replace('REINDEX_OBJECT_', '')
    const concurrently = booleanOption(s.params, 'concurrently') === true
    const wholeSchemaOrMore = object === 'SCHEMA' || object === 'SYSTEM' || object === 'DATABASE'
    if (!concurrently && !wholeSchemaOrMore) return undefined
    const target = s.relation !== undefined ? ` ${relation(s.relation)}` : s.name !== undefined ? ` ${ident(s.name)}` : ''
    return `REINDEX ${object}${concurrently ? ' CONCURRENTLY' : ''}${target}`
  }
  if ('VacuumStmt' in node) {
    const s = node.VacuumStmt
    if (s.is_vacuumcmd !== true) return undefined // ANALYZE alone is allowed
    const tables = (s.rels ?? []).map((r) => ('VacuumRelation' in r ? relation(r.VacuumRelation.relation) : '?'))
    return tables.length === 0 ? 'VACUUM' : `VACUUM ${tables.join(', ')}`
  }
  if ('AlterSystemStmt' in node) {
    const set = node.AlterSystemStmt.setstmt
    if (set?.kind === 'VAR_RESET_ALL') return 'ALTER SYSTEM RESET ALL'
    return `ALTER SYSTEM ${set?.kind === 'VAR_RESET' ? 'RESET' : 'SET'} ${set?.name ?? ''}`.trimEnd()
  }
  if ('CreatedbStmt' in node) return `CREATE DATABASE ${ident(node.CreatedbStmt.dbname)}`
  if ('DropdbStmt' in node) return `DROP DATABASE ${ident(node.DropdbStmt.dbname)}`
  if ('CreateTableSpaceStmt' in node) return `CREATE TABLESPACE ${ident(node.CreateTableSpaceStmt.tablespacename)}`
  if ('DropTableSpaceStmt' in node) return `DROP TABLESPACE ${ident(node.DropTableSpaceStmt.tablespacename)}`
  if ('AlterDatabaseStmt' in node) {
    const s = node.AlterDatabaseStmt
    const tablespace = findOption(s.options, 'tablespace')
    return tablespace === undefined ? undefined : `ALTER DATABASE ${ident(s.dbname)} SET TABLESPACE ${ident(optionString(tablespace))}`
  }
  if ('ClusterStmt' in node) return node.ClusterStmt.relation === undefined ? 'CLUSTER without a table name' : undefined
  if ('AlterTableStmt' in node) {
    const s = node.AlterTableStmt
    for (const cmd of s.cmds ?? []) {
      if (!('AlterTableCmd' in cmd) || cmd.AlterTableCmd.subtype !== 'AT_DetachPartition') continue
      const def = cmd.AlterTableCmd.def
      if (def !== undefined && 'PartitionCmd' in def && def.PartitionCmd.concurrent === true) {
        return `ALTER TABLE ${relation(s.relation)} DETACH PARTITION ${relation(def.PartitionCmd.name)} CONCURRENTLY`
      }
    }
    return undefined
  }
  if ('DiscardStmt' in node) return node.DiscardStmt.target === 'DISCARD_ALL' ? 'DISCARD ALL' : undefined
  if ('TransactionStmt' in node) {
    const s = node.TransactionStmt
    if (s.kind === 'TRANS_STMT_COMMIT_PREPARED') return `COMMIT PREPARED '${s.gid ?? ''}'`
    if (s.kind === 'TRANS_STMT_ROLLBACK_PREPARED') return `ROLLBACK PREPARED '${s.gid ?? ''}'`
    return undefined
  }
  return refusedSubscriptionStatement(node)
}

function refusedSubscriptionStatement (node: Node): string | undefined {
  if ('CreateSubscriptionStmt' in node) {
    const s = node.CreateSubscriptionStmt
    // create_slot defaults to the value of connect, which defaults to true.
    const createSlot = booleanOption(s.options, 'create_slot') ?? booleanOption(s.options, 'connect') ?? true
    return createSlot ? `CREATE SUBSCRIPTION ${ident(s.subname)} (creating a replication slot)` : undefined
  }
  if ('DropSubscriptionStmt' in node) {
    return `DROP SUBSCRIPTION ${ident(node.DropSubscriptionStmt.subname)} (when the subscription has a replication slot)`
  }
  if ('AlterSubscriptionStmt' in node) {
    const s = node.AlterSubscriptionStmt
    const name = ident(s.subname)
    switch (s.kind) {
      case 'ALTER_SUBSCRIPTION_REFRESH':
        return `ALTER SUBSCRIPTION ${name} REFRESH PUBLICATION`
      case 'ALTER_SUBSCRIPTION_SET_PUBLICATION':
      case 'ALTER_SUBSCRIPTION_ADD_PUBLICATION':
      case 'ALTER_SUBSCRIPTION_DROP_PUBLICATION': {
        if (booleanOption(s.options, 'refresh') === false) return undefined
        const verb = s.kind.replace('ALTER_SUBSCRIPTION_', '').replace('_PUBLICATION', '')
        return `ALTER SUBSCRIPTION ${name} ${verb} PUBLICATION with refresh`
      }
      case 'ALTER_SUBSCRIPTION_OPTIONS':
        // PostgreSQL 17 (failover) and 18 (two_phase = false) alter the slot on the publisher.
        if (findOption(s.options, 'failover') !== undefined) return `ALTER SUBSCRIPTION ${name} SET (failover)`
        if (booleanOption(s.options, 'two_phase') === false) return `ALTER SUBSCRIPTION ${name} SET (two_phase = false)`
        return undefined
      default:
        return undefined
    }
  }
  return undefined
}

function ident (name: string | undefined): string {
  return `"${(name ?? '').replaceAll('"', '""')}"`
}

function relation (rel: RangeVar | undefined): string {
  if (rel === undefined) return '?'
  return rel.schemaname !== undefined ? `${ident(rel.schemaname)}.${ident(rel.relname)}` : ident(rel.relname)
}

function qualifiedName (node: Node): string {
  if (!('List' in node)) return '?'
  return (node.List.items ?? []).map((part) => ident('String' in part ? part.String.sval : '?')).join('.')
}

function findOption (options: Node[] | undefined, name: string): DefElem | undefined {
  for (const option of options ?? []) {
    if ('DefElem' in option && option.DefElem.defname === name) return option.DefElem
  }
  return undefined
}

function optionString (option: DefElem): string {
  const arg = option.arg
  if (arg === undefined) return ''
  if ('String' in arg) return arg.String.sval ?? ''
  if ('Integer' in arg) return String(arg.Integer.ival ?? 0)
  if ('Boolean' in arg) return String(arg.Boolean.boolval ?? false)
  if ('TypeName' in arg) return (arg.TypeName.names ?? []).map((n) => ('String' in n ? n.String.sval : '')).join('.')
  return ''
}

/** PostgreSQL's `defGetBoolean`: no value means true; else true/false/on/off/1/0. */
function booleanOption (options: Node[] | undefined, name: string): boolean | undefined {
  const option = findOption(options, name)
  if (option === undefined) return undefined
  if (option.arg === undefined) return true
  const value = optionString(option).toLowerCase()
  if (value === 'false' || value === 'off' || value === '0') return false
  return true
}
