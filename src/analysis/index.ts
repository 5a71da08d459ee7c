export { analyzeMigrationSql, type AnalyzedStatement, type SqlAnalysis, type SqlParseError } from './analyze-sql.js'
export { findInvalidIndexes, type InvalidIndex } from './invalid-indexes.js'
export { lintMigrations, type LintOptions, type LintWarning } from './lint.js'
export { LintError } from './lint-error.js'
