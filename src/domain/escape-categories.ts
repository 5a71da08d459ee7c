/**
 * Statements that reach beyond the target database (the server's programs and files, other
 * databases, the server's settings, all-powerful roles), by the name an environment's
 * `policy.allow_statements` lists them under, with what each could reach: the refusal says it.
 */
export const ESCAPE_CATEGORIES = {
  'COPY PROGRAM': 'runs a program on the database server as the operating-system user PostgreSQL runs as, which can reach every database on that server',
  'COPY FILE': 'reads or writes a file on the database server',
  'SERVER FILES': 'reads or writes files on the database server (pg_read_file, adminpack, file_fdw)',
  'ALTER SYSTEM': 'changes the settings of the whole server, for every database on it',
  'ROLE SUPERUSER': 'makes a superuser, which can reach every database on the server and run programs on it',
  'ROLE BYPASSRLS': 'makes a role that ignores every row-level security policy',
  LO_IMPORT: 'reads a file of the database server into the database',
  LO_EXPORT: 'writes a file on the database server',
  DBLINK: 'connects to other databases and servers (dblink)',
  POSTGRES_FDW: 'connects to other databases and servers (postgres_fdw)',
  'UNTRUSTED LANGUAGE': 'runs code in an untrusted language (plpython3u, plperlu, C, …) with the operating-system rights of the server',
  LOAD: 'loads a shared library into the server'
} as const

export type EscapeCategory = keyof typeof ESCAPE_CATEGORIES

export const ESCAPE_CATEGORY_NAMES = Object.keys(ESCAPE_CATEGORIES) as EscapeCategory[]

/** One statement (or a call inside one) that reaches beyond the target database. */
export interface EscapingStatement {
  /** The name `policy.allow_statements` lists it under, e.g. `COPY PROGRAM`. */
  category: EscapeCategory
  /** What the statement is, e.g. `COPY … TO PROGRAM` or `lo_import() in the body of function "f"`; never its literals. */
  statement: string
  /** 1-based line of the file on which the statement begins. */
  line: number
}
