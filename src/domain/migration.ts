/** One migration as read from a source (a folder or an inline upload). */
export interface MigrationFile {
  /** `<digits>_<name>`, the folder name for Prisma. */
  name: string
  /** The file's text (decoded from UTF-8; the checksum is of the raw bytes). */
  sql: string
  /** Lowercase sha256 hex of the raw bytes. */
  checksum: string
  /**
   * Set when an external tool applies the file (the command handler): `sql` then holds the file as
   * written (JavaScript for TypeORM or Sequelize), shown to reviewers but not parsed or linted as SQL.
   */
  appliedBy?: { tool: string, transactional: boolean }
}

/** The identity of a migration: enough to compare a source with a history. */
export type MigrationIdentity = Pick<MigrationFile, 'name' | 'checksum'>
