import type { DeploymentResource } from '../../schemas/deployment.js'
import { ApiClient } from './api-client.js'
import { CONNECTION_HELP, type ClientCommand, type CliIo } from './command.js'
import { UsageError } from './errors.js'
import { parseCommandArgs, resolveConnection, stringOption, timeoutOption } from './options.js'
import { reportOutcome } from './report-outcome.js'

const USAGE = `usage: migration-deployer restore --env <name> --backup <backup id> [--dry-run] [--skip-health-check]
                                 [--wait] [--timeout <duration>] [--json]

  --env <name>          the environment to restore (the backup must have been taken there)
  --backup <id>         the backup to restore (see GET /environments/<name>/backups or env-status)
  --dry-run             show what the restore would un-apply, change nothing
  --wait, --timeout, --json   as for deploy

A restore goes through the same pipeline and approval gate as a deployment: the current state is
backed up first (so the restore can itself be undone), then restored, health-checked and verified.

exit codes: 0 succeeded (or dry run done), 1 failed, 2 bad usage or refused, 3 rejected/cancelled/expired,
            4 still not finished when --timeout ran out
${CONNECTION_HELP}`

export const restoreCommand: ClientCommand = {
  name: 'restore',
  summary: 'restore an environment from one of its backups, through the approval gate',
  usage: USAGE,
  async run (args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, {
      env: { type: 'string' },
      backup: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'skip-health-check': { type: 'boolean' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' }
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
    const environment = stringOption(values, 'env')
    if (environment === undefined || environment === '') throw new UsageError('--env <name> is required')
    const backupId = stringOption(values, 'backup')
    if (backupId === undefined || backupId === '') throw new UsageError('--backup <backup id> is required')
    const timeoutMs = timeoutOption(values)
    if (timeoutMs !== undefined && values.wait !== true) throw new UsageError('--timeout applies to --wait; add --wait')
    const json = values.json === true
    const client = new ApiClient(resolveConnection(values, io.env))
    const created = await client.json<DeploymentResource>('POST', '/deployments', {
      operation: 'restore-backup',
      environment,
      backup_id: backupId,
      dry_run: values['dry-run'] === true,
      skip_health_check: values['skip-health-check'] === true
    })
    ;(json ? io.err : io.out)(`Created ${created.id} (${created.status}): restore ${backupId} → ${environment}${created.dry_run ? ' (dry run)' : ''}\n  ${client.server}${created.links.self}`)
    return await reportOutcome(client, created, io, { wait: values.wait === true, json, timeoutMs, timeoutText: stringOption(values, 'timeout') })
  }
}
