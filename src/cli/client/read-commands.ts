import type { DeploymentResource } from '../../schemas/deployment.js'
import { ApiClient } from './api-client.js'
import { describePendingApproval } from './approval-notice.js'
import { driftLines, type DriftWatchView } from './drift-summary.js'
import { CONNECTION_HELP, type ClientCommand, type CliIo } from './command.js'
import { UsageError } from './errors.js'
import { EXIT, exitCodeForStatus, TERMINAL } from './exit-codes.js'
import { followDeployment } from './follow.js'
import { onePositional, parseCommandArgs, resolveConnection, timeoutOption } from './options.js'
import { describeWindowWait } from './window-commands.js'

const STEP_MARK: Record<string, string> = { passed: '✓', failed: '✗', skipped: '-', running: '…', pending: ' ' }

/** status <id>: a deployment at a glance; exits like the deployment would (0, 1, 3), 0 while it runs. */
export const statusCommand: ClientCommand = {
  name: 'status',
  summary: 'show a deployment: status, approvals, steps, report',
  usage: `usage: migration-deployer status <deployment id> [--json]\n       migration-deployer status --env <environment> [--json]   (same as env-status)\n\nexits 0 succeeded or still running, 1 failed, 3 rejected/cancelled/expired, 2 refused\n${CONNECTION_HELP}`,
  async run (args, io) {
    const { values, positionals } = parseCommandArgs(args, { env: { type: 'string' } })
    const environment = typeof values.env === 'string' ? values.env : undefined
    if (environment !== undefined) {
      if (positionals.length > 0) throw new UsageError('give either a deployment id or --env <environment>, not both')
      return await printEnvironmentStatus(environment, values, io)
    }
    const id = onePositional(positionals, 'deployment id')
    const client = new ApiClient(resolveConnection(values, io.env))
    const d = await client.json<DeploymentResource>('GET', `/deployments/${encodeURIComponent(id)}`)
    if (values.json === true) {
      io.out(JSON.stringify(d, null, 2))
    } else {
      const lines = [
        `${d.id}  ${d.operation} → ${d.environment} (${d.mode} mode)`,
        `status:    ${d.status}`,
        `requested: by ${d.requested_by} at ${d.created_at}${d.dry_run ? ' (dry run)' : ''}${d.skip_backup ? ' [skip backup]' : ''}${d.skip_health_check ? ' [skip health check]' : ''}`
      ]
      if (d.plan !== null) lines.push(`plan:      ${d.plan.pending_migrations} pending, ${d.plan.checksum}`, ...d.plan.migrations.map((m) => `           ${m.name}${m.warnings.length > 0 ? `  ⚠ ${m.warnings.map((w) => w.rule).join(', ')}` : ''}`))
      if (d.approval !== null) lines.push(`approvals: ${d.approval.approvals.length} of ${d.approval.required}${d.approval.approvals.map((a) => ` ${a.by}`).join(',')}${d.approval.expires_at === null ? '' : ` (expires ${d.approval.expires_at})`}`)
      if (d.steps.length > 0) lines.push('steps:', ...d.steps.map((s) => `  ${STEP_MARK[s.status] ?? '?'} ${s.name} ${s.status}${s.detail === null ? '' : `: ${s.detail}`}`))
      const report = d.report as { message?: string, error?: string } | null
      if (report !== null) lines.push(`result:    ${report.message ?? report.error ?? ''}`)
      io.out(lines.join('\n'))
      if (d.status === 'pending_approval') io.out(await describePendingApproval(client, d))
      if (d.status === 'waiting_for_window') io.out(describeWindowWait(d))
    }
    return TERMINAL.has(d.status) ? exitCodeForStatus(d.status) : EXIT.ok
  }
}

/** log <id> [--follow]: the human log; --follow prints it live and exits like `deploy --wait`. */
export const logCommand: ClientCommand = {
  name: 'log',
  summary: 'print a deployment\'s human log (--follow: live, until it ends)',
  usage: `usage: migration-deployer log <deployment id> [--follow] [--timeout <duration>]\n\nwith --follow exits like deploy --wait: 0 succeeded, 1 failed, 3 rejected/cancelled/expired, 4 timeout\n${CONNECTION_HELP}`,
  async run (args, io) {
    const { values, positionals } = parseCommandArgs(args, { follow: { type: 'boolean', short: 'f' }, timeout: { type: 'string' } })
    const id = onePositional(positionals, 'deployment id')
    const timeoutMs = timeoutOption(values)
    if (timeoutMs !== undefined && values.follow !== true) throw new UsageError('--timeout applies to --follow; add --follow')
    if (values.json === true) throw new UsageError('log prints text; use "status <id> --json" for JSON')
    const client = new ApiClient(resolveConnection(values, io.env))
    if (values.follow !== true) {
      const text = await client.text(`/deployments/${encodeURIComponent(id)}/log`)
      io.out(text.replace(/\n$/, ''))
      return EXIT.ok
    }
    const { deployment, timedOut } = await followDeployment(client, id, {
      timeoutMs,
      onLine: (line) => io.out(line),
      onNotice: (text) => io.err(text),
      onPendingApproval: async (pending) => io.out(await describePendingApproval(client, pending)),
      onWaitingForWindow: (waiting) => io.out(describeWindowWait(waiting))
    })
    if (timedOut) {
      io.err(`⌛ ${id} is still ${deployment.status} after --timeout`)
      return EXIT.timeout
    }
    return exitCodeForStatus(deployment.status)
  }
}

interface EnvironmentView {
  name: string
  mode: string
  migration_tool: string
  protected: boolean
  working_directory: string | null
  requires_success_in: string[]
  approval: { required_approvals: number; roles: string[] } | null
}

export const envsCommand: ClientCommand = {
  name: 'envs',
  summary: 'list the configured environments',
  usage: `usage: migration-deployer envs [--json]\n${CONNECTION_HELP}`,
  async run (args, io) {
    const { values, positionals } = parseCommandArgs(args, {})
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
    const client = new ApiClient(resolveConnection(values, io.env))
    const { environments } = await client.json<{ environments: EnvironmentView[] }>('GET', '/environments')
    if (values.json === true) {
      io.out(JSON.stringify({ environments }, null, 2))
      return EXIT.ok
    }
    const rows = environments.map((e) => [e.name, e.mode, e.migration_tool, e.protected ? `protected (${e.approval?.required_approvals ?? 1} × ${e.approval?.roles.join('|') ?? 'approver'})` : '-', e.working_directory ?? '-', e.requires_success_in.join(',') || '-'])
    io.out(table([['ENVIRONMENT', 'MODE', 'TOOL', 'APPROVAL', 'WORKING DIRECTORY', 'REQUIRES SUCCESS IN'], ...rows]))
    return EXIT.ok
  }
}

interface StatusView {
  environment: string
  working_directory: string | null
  up_to_date: boolean
  applied: Array<{ name: string }>
  pending: Array<{ name: string }>
  failed: Array<{ name: string, resolve: string }>
  drifted: Array<{ name: string, reason: string }>
  last_deployment: {
    id: string
    operation: string
    status: string
    created_at: string
    migrations_from?: 'inline' | 'working_directory' | null
    working_directory?: string | null
  } | null
  last_backup: { id: string, created_at: string, restore_command: string } | null
  drift_watch?: DriftWatchView | null
}

/** An environment's migrations, its last deployment and last backup (`env-status`, `status --env`). */
async function printEnvironmentStatus (name: string, values: Record<string, unknown>, io: CliIo): Promise<number> {
  const client = new ApiClient(resolveConnection(values as Parameters<typeof resolveConnection>[0], io.env))
  const s = await client.json<StatusView>('GET', `/environments/${encodeURIComponent(name)}/status`)
  if (values.json === true) {
    io.out(JSON.stringify(s, null, 2))
    return EXIT.ok
  }
  const lines = [`${s.environment}: ${s.up_to_date ? 'up to date' : 'NOT up to date'} (${s.applied.length} applied, ${s.pending.length} pending, ${s.failed.length} failed, ${s.drifted.length} drifted)`]
  for (const m of s.pending) lines.push(`  pending  ${m.name}`)
  for (const m of s.failed) lines.push(`  FAILED   ${m.name}  → ${m.resolve}`)
  for (const m of s.drifted) lines.push(`  DRIFTED  ${m.name} (${m.reason})`)
  if (s.last_deployment !== null) {
    lines.push(`last deployment: ${s.last_deployment.id} ${s.last_deployment.operation} ${s.last_deployment.status} (${s.last_deployment.created_at})`)
    const note = otherSourceNote(s)
    if (note !== undefined) lines.push(note)
  }
  if (s.last_backup !== null) lines.push(`last backup:     ${s.last_backup.id} (${s.last_backup.created_at}); restore: ${s.last_backup.restore_command}`)
  lines.push(...driftLines(s.drift_watch))
  io.out(lines.join('\n'))
  return EXIT.ok
}

/**
 * The status compares the database with the environment's configured folder: when the last
 * deployment used another source (an inline upload, another folder), say so, since that is
 * what migrations shown as drifted or pending usually come from.
 */
function otherSourceNote (s: StatusView): string | undefined {
  const last = s.last_deployment
  if (last === null || last.migrations_from === undefined || last.migrations_from === null) return undefined
  const compared = s.working_directory === null ? 'no configured folder' : `the configured folder ${s.working_directory}`
  if (last.migrations_from === 'inline') {
    return `note: ${last.id} uploaded its migrations inline (deploy --dir); this status compares the database with ${compared}, ` +
      'so migrations only in that upload show as drifted'
  }
  if (last.working_directory !== null && last.working_directory !== undefined && last.working_directory !== s.working_directory) {
    return `note: ${last.id} deployed from ${last.working_directory}; this status compares the database with ${compared}`
  }
  return undefined
}

export const envStatusCommand: ClientCommand = {
  name: 'env-status',
  summary: 'applied, pending, failed and drifted migrations of an environment',
  usage: `usage: migration-deployer env-status <environment> [--json]\n${CONNECTION_HELP}`,
  async run (args, io) {
    const { values, positionals } = parseCommandArgs(args, {})
    return await printEnvironmentStatus(onePositional(positionals, 'environment name'), values, io)
  }
}

function table (rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n')
}
