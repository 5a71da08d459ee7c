import path from 'node:path'
import type { MigrationFile } from '../../handlers/types.js'
import { sha256Hex } from '../../lib/checksum.js'
import type { DeploymentResource } from '../../schemas/deployment.js'
import { ApiClient } from './api-client.js'
import { CONNECTION_HELP, type ClientCommand, type CliIo } from './command.js'
import { UsageError } from './errors.js'
import { reportOutcome } from './report-outcome.js'
import { parseCommandArgs, resolveConnection, stringOption, timeoutOption } from './options.js'

const USAGE = `usage: migration-deployer deploy --env <name> [--dir <migrations folder>] [--dry-run] [--skip-backup]
                                [--skip-health-check] [--wait] [--timeout <duration>] [--json]

  --env <name>          the environment to deploy to (see: migration-deployer envs)
  --dir <folder>        a Prisma project or its migrations folder; its migrations are uploaded inline
                        and exactly those bytes are planned, approved and applied. Without --dir the
                        server deploys the environment's configured working_directory
  --dry-run             preview only: report what would be applied, change nothing
  --skip-backup         no backup before a protected environment (shown to the approver)
  --skip-health-check   no health checks before and after (shown to the approver)
  --wait                follow the deployment and print its log live until it ends
  --timeout <duration>  with --wait: give up after this long (90s, 10m, 1h), exit 4
  --json                print only the final report (JSON) on stdout
  --commit, --ref, --source-url   where the migrations come from (default: from GitHub Actions / GitLab CI)

exit codes: 0 succeeded (or dry run done), 1 failed, 2 bad usage or refused, 3 rejected/cancelled/expired,
            4 still not finished when --timeout ran out
${CONNECTION_HELP}`

/** Where the migrations come from, for reviewers: flags first, then what CI systems set. */
function sourceInfo (values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Record<string, string> | undefined {
  const github = env.GITHUB_SERVER_URL !== undefined && env.GITHUB_REPOSITORY !== undefined && env.GITHUB_RUN_ID !== undefined
    ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
    : undefined
  const source = {
    commit: stringOption(values, 'commit') ?? env.GITHUB_SHA ?? env.CI_COMMIT_SHA,
    ref: stringOption(values, 'ref') ?? env.GITHUB_REF_NAME ?? env.CI_COMMIT_REF_NAME,
    url: stringOption(values, 'source-url') ?? github ?? env.CI_JOB_URL
  }
  const entries = Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
  return entries.length === 0 ? undefined : Object.fromEntries(entries)
}

/** Reads the folder's migrations as the server will checksum them; a file that is not UTF-8 is refused here. */
async function readMigrations (dir: string, cwd: string): Promise<MigrationFile[]> {
  let files: MigrationFile[]
  try {
    // Loaded on demand: only deploy --dir needs the handler (and its database driver).
    const { prismaHandler } = await import('../../handlers/prisma/index.js')
    files = await prismaHandler.readSource(path.resolve(cwd, dir))
  } catch (error) {
    throw new UsageError(`--dir ${dir}: ${(error as Error).message}`)
  }
  for (const file of files) {
    if (sha256Hex(Buffer.from(file.sql, 'utf8')) !== file.checksum) {
      throw new UsageError(`--dir ${dir}: ${file.name}/migration.sql is not valid UTF-8; its bytes could not be uploaded exactly`)
    }
  }
  return files
}

export const deployCommand: ClientCommand = {
  name: 'deploy',
  summary: 'create a deployment (uploading a migrations folder) and optionally follow it',
  usage: USAGE,
  async run (args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, {
      env: { type: 'string' },
      dir: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'skip-backup': { type: 'boolean' },
      'skip-health-check': { type: 'boolean' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      commit: { type: 'string' },
      ref: { type: 'string' },
      'source-url': { type: 'string' }
    })
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
    const environment = stringOption(values, 'env')
    if (environment === undefined || environment === '') throw new UsageError('--env <name> is required')
    const timeoutMs = timeoutOption(values)
    if (timeoutMs !== undefined && values.wait !== true) throw new UsageError('--timeout applies to --wait; add --wait')
    const json = values.json === true
    const connection = resolveConnection(values, io.env)
    const dir = stringOption(values, 'dir')
    const migrations = dir === undefined ? undefined : await readMigrations(dir, io.cwd)
    const client = new ApiClient(connection)
    const note = json ? io.err : io.out

    const source = sourceInfo(values, io.env)
    const created = await client.json<DeploymentResource>('POST', '/deployments', {
      environment,
      dry_run: values['dry-run'] === true,
      skip_backup: values['skip-backup'] === true,
      skip_health_check: values['skip-health-check'] === true,
      ...(migrations === undefined ? {} : { migrations: migrations.map((m) => ({ name: m.name, sql: m.sql })) }),
      ...(source === undefined ? {} : { source })
    })
    const what = migrations === undefined ? 'the server\'s configured migrations' : `${migrations.length} migration${migrations.length === 1 ? '' : 's'} from ${dir}`
    note(`Created ${created.id} (${created.status}): ${what} → ${environment}${created.dry_run ? ' (dry run)' : ''}\n  ${client.server}${created.links.self}`)

    return await reportOutcome(client, created, io, { wait: values.wait === true, json, timeoutMs, timeoutText: stringOption(values, 'timeout') })
  }
}
