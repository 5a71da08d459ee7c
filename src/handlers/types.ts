import type pg from 'pg'
import type { MigrationFile, MigrationIdentity } from '../domain/index.js'

// A migration's vocabulary is the domain's; handlers speak it too.
export type { MigrationFile, MigrationIdentity }

/** A row of the target's history table, as the handler understands it. */
export interface HistoryEntry {
  /** The history row's own id, where the tool has one (Prisma: a UUID). */
  id?: string
  name: string
  checksum: string
  /** Null when the tool keeps no time (the command handler's tools). */
  startedAt: Date | null
  finishedAt: Date | null
  logs: string | null
}

/** What the target holds compared with the source: like `prisma migrate status`. */
export interface MigrationStatus<T extends MigrationIdentity = MigrationFile> {
  /** Whether the history table exists yet. */
  historyTableExists: boolean
  applied: HistoryEntry[]
  /** In the source, not applied, in apply order. */
  pending: T[]
  /** Started but never finished (a failed or interrupted migration); blocks deploys until resolved. */
  failed: HistoryEntry[]
  /** Applied, but the source's file differs or is gone. */
  drifted: Array<{ name: string, reason: 'checksum_changed' | 'missing_from_source', appliedChecksum: string, sourceChecksum?: string }>
}

export interface AppliedMigration {
  name: string
  durationMs: number
}

/** Progress callbacks so the pipeline can log and record each migration as it happens. */
export interface ApplyProgress {
  onMigrationStart?: (migration: MigrationFile) => Promise<void> | void
  onMigrationApplied?: (migration: MigrationFile, durationMs: number) => Promise<void> | void
  /** A line an external tool printed (command handler), for the human log. */
  onOutput?: (line: string) => Promise<void> | void
}

export interface ApplyOptions {
  /** Per-migration `lock_timeout` in ms (0 = none). */
  lockTimeoutMs: number
  /** Per-migration `statement_timeout` in ms (0 = none). */
  statementTimeoutMs: number
  /**
   * The id to give a migration's history row (default: a random UUID). Deployments derive it
   * from their own id, so a resumed apply recognises the rows it wrote before an interruption.
   */
  historyIdFor?: (migration: MigrationFile) => string
  /**
   * Categories of statements that reach beyond the database (`COPY PROGRAM`, `DBLINK`, …) this
   * apply may run: the environment's `policy.allow_statements`. Any other is refused before
   * anything runs (default: none allowed).
   */
  allowStatements?: readonly string[]
}

/**
 * A target with the handler's migration lock held. Everything that must not interleave
 * with another deployment (reading history for the stale check, applying) happens here.
 */
export interface LockedTarget {
  /** How long acquiring the lock took (waiting for another deployment or a Prisma CLI). */
  readonly lockWaitMs: number
  status: <T extends MigrationIdentity>(source: T[]) => Promise<MigrationStatus<T>>
  /** Applies in order; stops at the first failure with a `MigrationFailedError`. */
  apply: (migrations: MigrationFile[], options: ApplyOptions, progress?: ApplyProgress) => Promise<AppliedMigration[]>
  /** `prisma migrate resolve`: mark a failed migration applied or rolled back. */
  resolve: (name: string, as: 'applied' | 'rolled_back', source: MigrationFile[]) => Promise<{ rowsChanged: number }>
  release: () => Promise<void>
}

/** A migration tool: reads sources, reports status without locking, and locks a target to apply. */
export interface MigrationHandler {
  readonly tool: string
  /**
   * Reads the migrations of a folder (the project folder or its migrations folder). Nothing outside
   * `workspaceRoot` (default: the folder itself) is read: a symlink leading out is refused, naming it.
   */
  readSource: (directory: string, workspaceRoot?: string) => Promise<MigrationFile[]>
  /**
   * Checks that a folder holds migrations, failing as readSource would, without reading them all:
   * what `POST /deployments` checks before accepting. Optional; without it the check is a readSource.
   */
  checkSource?: (directory: string, workspaceRoot?: string) => Promise<void>
  /**
   * Orders migrations uploaded inline the way the tool would apply them, refusing names the tool
   * would not accept (`BadRequestError`): those bytes, not a folder, are then the source.
   */
  orderSource: (migrations: MigrationFile[]) => MigrationFile[]
  /** Read-only status; never creates or changes anything on the target. */
  status: <T extends MigrationIdentity>(databaseUrl: string, source: T[]) => Promise<MigrationStatus<T>>
  /**
   * Optional: the same status read on a connection to the target the caller already holds (the
   * health check's), so a deployment does not open another (SCRAM and a new backend each).
   */
  statusOn?: <T extends MigrationIdentity>(client: pg.Client, source: T[]) => Promise<MigrationStatus<T>>
  /** Takes the migration lock (waiting at most `waitMs`). */
  lock: (databaseUrl: string, options: { waitMs: number }) => Promise<LockedTarget>
  /** Optional: shows what applying would do (the command handler's `preview` argv), line by line. */
  preview?: (databaseUrl: string, onOutput: (line: string) => Promise<void> | void) => Promise<void>
}
