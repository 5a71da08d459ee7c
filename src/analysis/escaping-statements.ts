import type { Node } from 'libpg-query'
import type { EscapeCategory } from '../domain/escape-categories.js'
import { loadedPgParser } from './pg-parser.js'

/** A statement, or a call inside one, that reaches beyond the target database. */
export interface Escape {
  category: EscapeCategory
  /** What it is, e.g. `COPY … TO PROGRAM` or `lo_import() in function "f"`; never the statement's literals. */
  statement: string
}

/** Languages PostgreSQL cannot sandbox (their code runs with the server's OS rights); `pl…u` is the naming convention. */
const UNTRUSTED_LANGUAGES = new Set(['c', 'internal', 'plsh', 'plr'])
const isUntrustedLanguage = (name: string): boolean => {
  const lower = name.toLowerCase()
  return UNTRUSTED_LANGUAGES.has(lower) || (lower.startsWith('pl') && lower.endsWith('u'))
}

const FUNCTIONS: Record<string, EscapeCategory> = {
  lo_import: 'LO_IMPORT',
  lo_export: 'LO_EXPORT',
  pg_read_file: 'SERVER FILES',
  pg_read_binary_file: 'SERVER FILES',
  pg_ls_dir: 'SERVER FILES',
  pg_stat_file: 'SERVER FILES',
  pg_file_write: 'SERVER FILES',
  pg_file_rename: 'SERVER FILES',
  pg_file_unlink: 'SERVER FILES',
  pg_file_sync: 'SERVER FILES'
}

/** Extensions and foreign-data wrappers by what they reach. */
const EXTENSIONS: Record<string, EscapeCategory> = {
  dblink: 'DBLINK',
  dblink_fdw: 'DBLINK',
  postgres_fdw: 'POSTGRES_FDW',
  file_fdw: 'SERVER FILES',
  adminpack: 'SERVER FILES'
}

/** Functions that run the SQL text given as their first argument. */
const RUNS_SQL_ARGUMENT = new Set(['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'ts_stat'])

// Bodies inside bodies (a DO block executing a string that creates a function…) are looked into this deep.
const MAX_NESTING = 4

interface Scope {
  /** Appended to each finding: where in the statement it was found (`in function "f"`). */
  where: string
  depth: number
  out: Escape[]
}

/**
 * The parts of one parsed statement that reach beyond its database (see `ESCAPE_CATEGORIES`),
 * read from the parse tree: the statement itself and every node in it (calls in a CTE, a
 * default, a view), the bodies of SQL and PL/pgSQL functions and DO blocks (parsed here in turn),
 * and constant strings that PL/pgSQL's EXECUTE or `query_to_xml` run as SQL. `text` is the
 * statement's own SQL (PL/pgSQL bodies are parsed from it).
 *
 * Limits: SQL put together at run time (EXECUTE of a computed string) cannot be seen in any
 * parse tree; what stops it is a target role that cannot do these things (SPEC §15).
 * Must be called after `loadPgParser()`.
 */
export function escapesOf (node: Node, text: string): Escape[] {
  const scope: Scope = { where: '', depth: 0, out: [] }
  inspectTree(node, text, scope)
  return scope.out
}

function inspectTree (root: unknown, text: string, scope: Scope): void {
  // Iterative: expression trees can be deep.
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const value = stack.pop()
    if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'object' && item !== null) stack.push(item)
      continue
    }
    if (typeof value !== 'object' || value === null) continue
    for (const [key, child] of Object.entries(value)) {
      if (typeof child !== 'object' || child === null) continue
      // Node types are the only keys starting with an upper-case letter (fields are lower-case).
      if (key.charCodeAt(0) >= 65 && key.charCodeAt(0) <= 90) inspectNode(key, child as Record<string, unknown>, text, scope)
      stack.push(child)
    }
  }
}

function add (scope: Scope, category: EscapeCategory, statement: string): void {
  scope.out.push({ category, statement: scope.where === '' ? statement : `${statement} ${scope.where}` })
}

function inspectNode (kind: string, body: Record<string, unknown>, text: string, scope: Scope): void {
  switch (kind) {
    case 'CopyStmt': {
      const direction = body.is_from === true ? 'FROM' : 'TO'
      if (body.is_program === true) add(scope, 'COPY PROGRAM', `COPY … ${direction} PROGRAM`)
      else if (typeof body.filename === 'string') add(scope, 'COPY FILE', `COPY … ${direction} a server file`)
      return
    }
    case 'AlterSystemStmt': {
      const set = body.setstmt as { kind?: string, name?: string } | undefined
      const verb = set?.kind === 'VAR_RESET' ? 'RESET' : 'SET'
      add(scope, 'ALTER SYSTEM', set?.kind === 'VAR_RESET_ALL' ? 'ALTER SYSTEM RESET ALL' : `ALTER SYSTEM ${verb} ${set?.name ?? ''}`.trimEnd())
      return
    }
    case 'CreateRoleStmt':
    case 'AlterRoleStmt':
      inspectRoleOptions(kind, body, scope)
      return
    case 'CreateExtensionStmt': {
      const name = String(body.extname ?? '')
      const category = EXTENSIONS[name] ?? (isUntrustedLanguage(name) ? 'UNTRUSTED LANGUAGE' : undefined)
      if (category !== undefined) add(scope, category, `CREATE EXTENSION ${name}`)
      return
    }
    case 'CreatePLangStmt':
      if (body.pltrusted !== true) add(scope, 'UNTRUSTED LANGUAGE', `CREATE LANGUAGE ${String(body.plname ?? '')}`)
      return
    case 'CreateForeignServerStmt': {
      const category = EXTENSIONS[String(body.fdwname ?? '')]
      if (category !== undefined) add(scope, category, `CREATE SERVER ${quote(body.servername)} FOREIGN DATA WRAPPER ${String(body.fdwname)}`)
      return
    }
    case 'CreateFdwStmt': {
      const names = [String(body.fdwname ?? ''), ...stringsIn(body.func_options)]
      const category = names.map((name) => EXTENSIONS[name] ?? EXTENSIONS[name.replace(/_(handler|validator)$/, '')]).find((c) => c !== undefined)
      if (category !== undefined) add(scope, category, `CREATE FOREIGN DATA WRAPPER ${String(body.fdwname ?? '')}`)
      return
    }
    case 'LoadStmt':
      add(scope, 'LOAD', 'LOAD')
      return
    case 'FuncCall':
      inspectCall(body, scope)
      return
    case 'CreateFunctionStmt':
      inspectFunction(body, text, scope)
      return
    case 'DoStmt': {
      const language = optionString(body.args, 'language') ?? 'plpgsql'
      if (isUntrustedLanguage(language)) add(scope, 'UNTRUSTED LANGUAGE', `DO LANGUAGE ${language}`)
      else if (language.toLowerCase() === 'plpgsql') inspectPlpgsql(text, nested(scope, 'in a DO block'))
    }
  }
}

function inspectRoleOptions (kind: string, body: Record<string, unknown>, scope: Scope): void {
  const verb = kind === 'CreateRoleStmt'
    ? `CREATE ${body.stmt_type === 'ROLESTMT_USER' ? 'USER' : body.stmt_type === 'ROLESTMT_GROUP' ? 'GROUP' : 'ROLE'} ${quote(body.role)}`
    : `ALTER ROLE ${quote((body.role as { rolename?: string } | undefined)?.rolename ?? 'CURRENT_USER')}`
  for (const option of (body.options as Node[] | undefined) ?? []) {
    if (!('DefElem' in option)) continue
    const { defname, arg } = option.DefElem
    const on = arg !== undefined && 'Boolean' in arg && arg.Boolean.boolval === true
    if (on && defname === 'superuser') add(scope, 'ROLE SUPERUSER', `${verb} SUPERUSER`)
    if (on && defname === 'bypassrls') add(scope, 'ROLE BYPASSRLS', `${verb} BYPASSRLS`)
  }
}

function inspectCall (body: Record<string, unknown>, scope: Scope): void {
  const parts = stringsIn(body.funcname)
  const name = (parts[parts.length - 1] ?? '').toLowerCase()
  const category = FUNCTIONS[name] ?? (name === 'dblink' || name.startsWith('dblink_') ? 'DBLINK' : undefined)
  if (category !== undefined) add(scope, category, `${name}()`)
  if (RUNS_SQL_ARGUMENT.has(name)) {
    const first = (body.args as unknown[] | undefined)?.[0]
    const sql = constantString(first)
    if (sql !== undefined) inspectSql(sql, nested(scope, `in SQL run by ${name}()`))
  }
}

function inspectFunction (body: Record<string, unknown>, text: string, scope: Scope): void {
  const name = stringsIn(body.funcname).join('.')
  const language = optionString(body.options, 'language') ?? 'sql'
  const what = body.is_procedure === true ? 'procedure' : 'function'
  if (isUntrustedLanguage(language)) {
    add(scope, 'UNTRUSTED LANGUAGE', `CREATE ${what.toUpperCase()} ${quote(name)} LANGUAGE ${language}`)
    return
  }
  const inner = nested(scope, `in ${what} ${quote(name)}`)
  if (language.toLowerCase() === 'plpgsql') {
    inspectPlpgsql(text, inner)
  } else if (language.toLowerCase() === 'sql') {
    // `AS '…'` bodies are strings to the parser; BEGIN ATOMIC bodies (sql_body) are already in the tree.
    const source = stringsIn(findOption(body.options, 'as'))[0]
    if (source !== undefined) inspectSql(source, inner)
  }
}

/** Parses SQL text found inside a statement and inspects each of its statements. */
function inspectSql (sql: string, scope: Scope): void {
  if (scope.depth > MAX_NESTING) return
  let statements
  try {
    statements = loadedPgParser().parseSync(sql).stmts ?? []
  } catch {
    return // PostgreSQL would refuse it too (when it runs, or when the function is created)
  }
  const bytes = Buffer.from(sql, 'utf8')
  for (const raw of statements) {
    const start = raw.stmt_location ?? 0
    const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? bytes.length : start + raw.stmt_len
    const text = bytes.subarray(start, end).toString('utf8')
    inspectTree(raw.stmt, text, scope)
  }
}

interface PlpgsqlExpr { query?: string, parseMode?: number }

/**
 * The SQL inside a PL/pgSQL body (a function or a DO block), from libpg_query's PL/pgSQL parser:
 * each embedded statement and expression is parsed and inspected; constant strings given to
 * EXECUTE are parsed as SQL too.
 */
function inspectPlpgsql (text: string, scope: Scope): void {
  if (scope.depth > MAX_NESTING) return
  let tree: unknown
  try {
    tree = loadedPgParser().parsePlPgSQLSync(text)
  } catch {
    return // a body PostgreSQL would refuse to create
  }
  const stack: Array<{ value: unknown, dynamic: boolean }> = [{ value: tree, dynamic: false }]
  while (stack.length > 0) {
    const { value, dynamic } = stack.pop() as { value: unknown, dynamic: boolean }
    if (typeof value !== 'object' || value === null) continue
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, dynamic })
      continue
    }
    for (const [key, child] of Object.entries(value)) {
      if (key === 'PLpgSQL_expr') {
        inspectPlpgsqlExpression(child as PlpgsqlExpr, dynamic, scope)
        continue
      }
      // EXECUTE …, FOR … IN EXECUTE …, RETURN QUERY EXECUTE …, OPEN … FOR EXECUTE …
      const runsString = key === 'dynquery' || (key === 'query' && (value as Record<string, unknown>).dynamicQuery === true)
      stack.push({ value: key === 'PLpgSQL_stmt_dynexecute' || key === 'PLpgSQL_stmt_dynfors' ? markDynamic(child) : child, dynamic: dynamic || runsString })
    }
  }
}

// The query of EXECUTE and FOR … IN EXECUTE is a string to run: mark it so its constants are parsed.
function markDynamic (statement: unknown): unknown {
  if (typeof statement !== 'object' || statement === null) return statement
  return { ...statement, dynamicQuery: true }
}

function inspectPlpgsqlExpression (expr: PlpgsqlExpr, dynamic: boolean, scope: Scope): void {
  const query = expr.query
  if (typeof query !== 'string') return
  let sql: string | undefined
  switch (expr.parseMode ?? 0) {
    case 0: sql = query; break // a whole statement
    case 2: sql = `SELECT ${query}`; break // an expression
    case 3: case 4: case 5: sql = assignedExpression(query); break // target := expression
    default: sql = undefined // a type name
  }
  if (sql === undefined) return
  inspectSql(sql, scope)
  if (!dynamic) return
  // EXECUTE 'COPY … TO PROGRAM …': the constants of the expression are SQL to run.
  let parsed
  try {
    parsed = loadedPgParser().parseSync(sql)
  } catch {
    return
  }
  for (const constant of constantStrings(parsed)) inspectSql(constant, nested(scope, 'in a string run by EXECUTE'))
}

/** `x := expr` / `x.y[1] = expr` → `SELECT expr`, cut at the assignment token the scanner finds. */
function assignedExpression (query: string): string | undefined {
  let tokens
  try {
    tokens = loadedPgParser().scanSync(query).tokens ?? []
  } catch {
    return undefined
  }
  const assign = tokens.find((token) => token.text === ':=' || token.text === '=')
  return assign === undefined ? undefined : `SELECT ${Buffer.from(query, 'utf8').subarray(assign.end).toString('utf8')}`
}

function nested (scope: Scope, where: string): Scope {
  return { where: scope.where === '' ? where : `${where} ${scope.where}`, depth: scope.depth + 1, out: scope.out }
}

function constantString (node: unknown): string | undefined {
  const constant = (node as { A_Const?: { sval?: { sval?: string } } } | undefined)?.A_Const
  return constant?.sval?.sval
}

/** Every string constant in a tree. */
function constantStrings (tree: unknown): string[] {
  const found: string[] = []
  const stack: unknown[] = [tree]
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value !== 'object' || value === null) continue
    const constant = constantString(value)
    if (constant !== undefined) found.push(constant)
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push(child)
  }
  return found
}

/** The `sval`s of String nodes in a list (a qualified name, an option's value). */
function stringsIn (value: unknown): string[] {
  const found: string[] = []
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const item = stack.pop()
    if (typeof item !== 'object' || item === null) continue
    const sval = (item as { String?: { sval?: string } }).String?.sval
    if (sval !== undefined) {
      found.push(sval)
      continue
    }
    const children = Array.isArray(item) ? item : Object.values(item)
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i])
  }
  return found
}

function findOption (options: unknown, name: string): unknown {
  for (const option of (options as Node[] | undefined) ?? []) {
    if ('DefElem' in option && option.DefElem.defname === name) return option.DefElem.arg
  }
  return undefined
}

function optionString (options: unknown, name: string): string | undefined {
  return stringsIn(findOption(options, name))[0]
}

function quote (name: unknown): string {
  return `"${String(name ?? '').replaceAll('"', '""')}"`
}
