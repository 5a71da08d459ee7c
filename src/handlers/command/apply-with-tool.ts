import { MigrationFailedError } from '../../errors/index.js'
import type { AppliedMigration, ApplyOptions, ApplyProgress, MigrationFile, MigrationStatus } from '../types.js'
import type { OutputMarkers, ToolSpec } from './presets.js'
import { sameMigration } from './read-source.js'
import { runTool, type ToolLine, type ToolRun } from './run-tool.js'

// A chatty tool (TypeORM logs every query) must not flood the audit trail: the rest is counted.
const MAX_LOGGED_LINES = 500

/** Time per migration name, from the tool's progress lines (its own `seconds` where it prints them). */
export function timingsFrom (lines: ToolLine[], markers: OutputMarkers, totalMs: number): Map<string, number> {
  const timings = new Map<string, number>()
  const starts: Array<{ name: string, atMs: number }> = []
  let lastMarkMs = 0
  for (const line of lines) {
    const started = markers.started?.exec(line.text)?.groups?.name
    if (started !== undefined) { starts.push({ name: started, atMs: line.atMs }); lastMarkMs = line.atMs; continue }
    const applied = markers.applied?.exec(line.text)
    if (applied?.groups?.name === undefined) continue
    const seconds = Number(applied.groups.seconds)
    const start = [...starts].reverse().find((s) => s.name === applied.groups?.name)?.atMs ?? lastMarkMs
    timings.set(applied.groups.name, Number.isFinite(seconds) ? seconds * 1000 : line.atMs - start)
    lastMarkMs = line.atMs
  }
  // Tools that only say "applying X" (Prisma): X lasted until the next one started, the last until the end.
  starts.forEach((start, index) => {
    if (!timings.has(start.name)) timings.set(start.name, (starts[index + 1]?.atMs ?? totalMs) - start.atMs)
  })
  return timings
}

/** The failing migration's name and the tool's own error message, from its output. */
export function failureFrom (run: ToolRun, markers: OutputMarkers): { name?: string, message: string } {
  let name: string | undefined
  let message: string | undefined
  let lastStarted: string | undefined
  for (const { text } of run.lines) {
    lastStarted = markers.started?.exec(text)?.groups?.name ?? lastStarted
    for (const pattern of markers.failure) {
      const groups = pattern.exec(text)?.groups
      name ??= groups?.name
      message ??= groups?.message
    }
  }
  // Without a recognized line: the tool's first error line on stderr, else its last words, else how it ended.
  const errorLine = run.stderrLines.find((line) => /error/i.test(line)) ?? run.stderrLines.at(-1) ?? run.lines.at(-1)?.text
  name ??= lastStarted
  return { ...(name === undefined ? {} : { name }), message: message ?? errorLine?.trim() ?? run.failure }
}

/**
 * Applies with the tool: runs its `apply` argv once (the tool applies every pending migration
 * its own way), its output going to `progress.onOutput` line by line, then asks the tool's
 * status which of `migrations` are now applied. Those are reported applied (with times read from
 * the tool's progress lines); if the tool failed or left one pending, the first one not applied
 * is the failed migration, with the tool's own error message. lock_timeout and statement_timeout
 * reach the tool as PGOPTIONS (honoured by node-postgres and libpq clients; Prisma's engine ignores it).
 */
export async function applyWithTool (
  spec: ToolSpec,
  project: string,
  databaseUrl: string,
  migrations: MigrationFile[],
  options: ApplyOptions,
  progress: ApplyProgress,
  statusAfter: () => Promise<MigrationStatus<MigrationFile>>
): Promise<AppliedMigration[]> {
  let logged = 0
  const run = await runTool(
    spec.apply,
    {
      cwd: project,
      databaseUrl,
      urlEnv: spec.urlEnv,
      env: spec.env,
      passEnv: spec.passEnv,
      timeoutMs: spec.timeoutMs,
      onLine: async (line) => {
        if (++logged <= MAX_LOGGED_LINES) await progress.onOutput?.(line)
      }
    },
    {
      PGOPTIONS: `-c lock_timeout=${Math.max(0, Math.trunc(options.lockTimeoutMs))} -c statement_timeout=${Math.max(0, Math.trunc(options.statementTimeoutMs))}`
    }
  )
  if (logged > MAX_LOGGED_LINES) await progress.onOutput?.(`… ${logged - MAX_LOGGED_LINES} more lines of ${spec.tool} output not logged`)

  const after = await statusAfter()
  const isApplied = (migration: MigrationFile): boolean => after.applied.some((entry) => sameMigration(entry.name, migration.name))
  const timings = timingsFrom(run.lines, spec.markers, run.durationMs)
  const appliedNow = migrations.filter(isApplied)
  const untimed = appliedNow.filter((m) => ![...timings.keys()].some((name) => sameMigration(name, m.name)))
  const timedMs = [...timings.values()].reduce((sum, ms) => sum + ms, 0)
  const applied: AppliedMigration[] = []
  for (const migration of appliedNow) {
    const measured = [...timings.entries()].find(([name]) => sameMigration(name, migration.name))?.[1]
    // Without a progress line, the untimed ones share what the run took beyond the timed ones.
    const durationMs = measured ?? Math.max(0, run.durationMs - timedMs) / untimed.length
    applied.push({ name: migration.name, durationMs })
    await progress.onMigrationApplied?.(migration, durationMs)
  }

  const notApplied = migrations.filter((m) => !isApplied(m))
  if (!run.failed && notApplied.length === 0) return applied
  const failure = failureFrom(run, spec.markers)
  const failedName =
    notApplied.find((m) => failure.name !== undefined && sameMigration(m.name, failure.name))?.name ??
    notApplied[0]?.name ??
    failure.name ??
    migrations.at(-1)?.name ??
    spec.tool
  const message = run.failed ? failure.message : `${spec.tool} exited successfully but left ${notApplied.map((m) => m.name).join(', ')} pending`
  throw new MigrationFailedError(
    failedName,
    applied.map((m) => m.name),
    message
  )
}
