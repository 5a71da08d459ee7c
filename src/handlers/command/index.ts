import { AppError, BadRequestError, PlanStaleError } from '../../errors/index.js'
import type { CommandToolConfig } from '../../config/schema.js'
import { MIGRATION_DEPLOYER_LOCK_KEY, takeAdvisoryLock } from '../shared/advisory-lock.js'
import type { HistoryEntry, LockedTarget, MigrationFile, MigrationHandler, MigrationIdentity, MigrationStatus } from '../types.js'
import { applyWithTool } from './apply-with-tool.js'
import { toolSpecOf, type ToolSpec } from './presets.js'
import { readToolSource, sameMigration, unknownFile } from './read-source.js'
import { runTool } from './run-tool.js'
import type { ToolStatus } from './status-formats.js'

/** Reads the tool's status output into the shape every handler reports. */
export function statusFromTool<T extends MigrationIdentity> (tool: string, parsed: ToolStatus, source: T[]): MigrationStatus<T> {
  const find = (name: string): T | undefined => source.find((file) => sameMigration(file.name, name))
  const listed = (names: string[] | undefined, name: string): boolean => names?.some((other) => sameMigration(other, name)) === true
  const firstFailed = source.findIndex((file) => listed(parsed.failed, file.name))
  const appliedByPosition =
    parsed.applied === undefined && parsed.pending === undefined
      ? source.slice(0, firstFailed === -1 ? source.length : firstFailed).map((f) => f.name)
      : undefined
  const appliedListed = parsed.applied ?? appliedByPosition
  const pendingNames = parsed.pending ?? source.map((f) => f.name).filter((name) => !listed(appliedListed, name) && !listed(parsed.failed, name))
  const appliedNames = appliedListed ?? source.map((f) => f.name).filter((name) => !listed(pendingNames, name) && !listed(parsed.failed, name))
  const entry = (name: string): HistoryEntry => {
    const file = find(name)
    return { name: file?.name ?? name, checksum: file?.checksum ?? unknownFile(tool, name).checksum, startedAt: null, finishedAt: null, logs: null }
  }
  return {
    historyTableExists: true,
    applied: appliedNames.map(entry),
    // A name the tool lists but whose file is not known still deploys: it has no content to show.
    pending: pendingNames.map((name) => find(name) ?? unknownFile(tool, name) as unknown as T),
    failed: parsed.failed.map(entry),
    drifted: parsed.missing.map((name) => ({ name, reason: 'missing_from_source' as const, appliedChecksum: '' }))
  }
}

/**
 * The `command` handler: an external migration tool (TypeORM, sequelize-cli, the Prisma CLI or
 * any program) run with execa in the project folder. `status` runs the tool's status argv and
 * parses its output; `apply` runs its apply argv under `pg_advisory_lock(1835296112)` on the
 * target, so two deployments never run the tool at once. The tool keeps its own history: drift
 * is what the tool itself reports (edited files cannot be detected: these tools keep no checksums),
 * failed rows do not exist, and `resolve` is the tool's business.
 */
export function createCommandHandler (config: CommandToolConfig, project: string | undefined): MigrationHandler {
  const spec: ToolSpec = toolSpecOf(config)
  const projectDir = (): string => {
    if (project === undefined) throw new BadRequestError(`the command handler (${spec.tool}) runs the tool in a project folder: set working_directory`, undefined, 'NO_MIGRATION_SOURCE')
    return project
  }
  const runOptions = (databaseUrl: string, timeoutMs: number): Parameters<typeof runTool>[1] => ({
    cwd: projectDir(),
    databaseUrl,
    urlEnv: spec.urlEnv,
    env: spec.env,
    passEnv: spec.passEnv,
    timeoutMs
  })

  async function readStatus<T extends MigrationIdentity> (databaseUrl: string, source: T[]): Promise<MigrationStatus<T>> {
    const run = await runTool(spec.status, runOptions(databaseUrl, spec.statusTimeoutMs))
    const parsed = spec.parseStatus(run.lines.map((line) => line.text))
    const outOfSync = parsed !== undefined && ((parsed.pending?.length ?? 1) > 0 || parsed.failed.length > 0 || parsed.missing.length > 0)
    // Some tools exit 1 to say "not up to date" (prisma migrate status, TypeORM 0.3's migration:show).
    if (parsed === undefined || (run.failed && !outOfSync)) {
      const tail = run.lines.slice(-5).map((line) => line.text).join(' | ')
      throw new AppError('TOOL_STATUS_FAILED', 503, `${spec.tool} status (${spec.status.join(' ')}) ${run.failed ? `failed: ${run.failure}` : 'printed nothing this handler can read'}${tail === '' ? '' : `: ${tail}`}`)
    }
    return statusFromTool(spec.tool, parsed, source)
  }

  return {
    tool: 'command',
    readSource: async (directory, workspaceRoot) => await readToolSource(spec, directory, workspaceRoot),
    orderSource: () => {
      throw new BadRequestError(`environments using the command handler (${spec.tool}) deploy the tool's own files from working_directory, not inline migrations`, undefined, 'INLINE_NOT_SUPPORTED')
    },
    status: readStatus,
    ...(spec.preview === undefined
      ? {}
      : {
          preview: async (databaseUrl: string, onOutput: (line: string) => Promise<void> | void) => {
            const run = await runTool(spec.preview as string[], { ...runOptions(databaseUrl, spec.statusTimeoutMs), onLine: onOutput })
            if (run.failed) throw new AppError('TOOL_PREVIEW_FAILED', 500, `${spec.tool} preview (${(spec.preview as string[]).join(' ')}) failed: ${run.failure}`)
          }
        }),

    async lock (databaseUrl, { waitMs }): Promise<LockedTarget> {
      const lock = await takeAdvisoryLock(databaseUrl, MIGRATION_DEPLOYER_LOCK_KEY, waitMs)
      return {
        lockWaitMs: lock.waitMs,
        status: async (source) => await readStatus(databaseUrl, source),
        apply: async (migrations, options, progress = {}) => {
          if (migrations.length === 0) return []
          await assertFilesUnchanged(spec, projectDir(), migrations)
          return await applyWithTool(spec, projectDir(), databaseUrl, migrations, options, progress, async () => await readStatus(databaseUrl, migrations))
        },
        resolve: async () => {
          throw new AppError('RESOLVE_NOT_SUPPORTED', 409, `${spec.tool} keeps its own history: resolve a failed migration with the tool itself, not through the deployer`)
        },
        release: lock.release
      }
    }
  }
}

/**
 * The tool reads its files from disk when it applies, not the approved bytes: refuse to run if a
 * file changed since the plan was made (its checksum is what was approved).
 */
async function assertFilesUnchanged (spec: ToolSpec, project: string, migrations: MigrationFile[]): Promise<void> {
  const current = await readToolSource(spec, project)
  const changed = migrations.filter((planned) => {
    const file = current.find((candidate) => sameMigration(candidate.name, planned.name))
    return file !== undefined && file.checksum !== planned.checksum
  })
  if (changed.length > 0) {
    throw new PlanStaleError(`plan is stale: ${changed.map((m) => m.name).join(', ')} changed on disk since the plan was made; nothing was applied`, { changed: changed.map((m) => m.name) })
  }
}
