import { readFileSync } from 'node:fs'

/** The processes `migration-deployer` runs (SPEC §2); each answers `--help` without starting. */
export type ProcessCommand = 'start' | 'serve' | 'worker'

export const PROCESS_COMMANDS: readonly ProcessCommand[] = ['start', 'serve', 'worker']

const PROCESS_ENVIRONMENT = `environment:
  DATABASE_URL          the control database (PostgreSQL); required
  REDIS_URL             the queue (Redis); required
  DEPLOYER_CONFIG       the config file (default ./migration-deployer.yaml)
  HOST, PORT            where the API listens (default 127.0.0.1:3000)
  LOG_LEVEL             pino level (default info)
  WORKER_CONCURRENCY    deployments one worker runs at a time (default 4)
  METRICS_PORT          a worker process's own /metrics (worker only)
  ANALYSIS_THREADS      worker threads that parse and lint migrations (default: cores - 1, from 1 to 4)
  DEPLOYER_QUEUE, RECONCILE_INTERVAL, WORKER_LOCK_DURATION, WORKER_STALLED_INTERVAL,
  WORKER_MAX_STALLED, SHUTDOWN_GRACE, ENQUEUE_TIMEOUT   see the README, "Processes"
  and the variables the config names (each environment's database_url_env, webhook secrets)`

const PROCESS_USAGE: Record<ProcessCommand, string> = {
  start: `usage: migration-deployer start

Runs the API and a worker in one process (what npm start runs). It exits 1 at once, with one
line saying why, when it cannot serve: the port is taken, the config is invalid, or the control
database cannot be reached.

${PROCESS_ENVIRONMENT}`,
  serve: `usage: migration-deployer serve

Runs the HTTP API only (no worker): any number of serve processes can share one control
database and one Redis. It exits 1 at once, with one line saying why, when it cannot listen.

${PROCESS_ENVIRONMENT}`,
  worker: `usage: migration-deployer worker

Runs the BullMQ worker only: it takes deployments from the queue and runs their pipeline.
Any number of workers can share one control database and one Redis.

${PROCESS_ENVIRONMENT}`
}

export const MIGRATE_USAGE = `usage: migration-deployer migrate

Migrates the control database (DATABASE_URL) and exits. Run it as the schema's owner when the
processes connect as a role that may not change the schema (ops/control-db-role.sql); the
processes then start on an up-to-date schema without needing that right.

environment:
  DATABASE_URL          the control database (PostgreSQL), as its owner; required`

export const GENERAL_USAGE = `usage: migration-deployer <command> [options]

processes:
  start       API and worker in one process (what npm start runs)
  serve       the HTTP API only
  worker      the BullMQ worker only
  migrate     migrate the control database (DATABASE_URL) and exit

client (talks to DEPLOYER_URL with DEPLOYER_TOKEN, or --server/--token):
  deploy      --env <name> [--dir <folder>] [--dry-run] [--skip-backup] [--skip-health-check] [--wait] [--timeout <d>] [--json]
  restore     --env <name> --backup <id> [--dry-run] [--wait] [--timeout <d>] [--json]
  approve     <id> [--comment <text>]
  reject      <id> --reason <text>
  cancel      <id>
  override-window <id> --reason <text>   start a deployment waiting for its window now (admin)
  status      <id> [--json]
  log         <id> [--follow]
  envs        [--json]
  env-status  <name> [--json]

local development:
  dev-db create <name>   a database on the project-local PostgreSQL (npm start's), and the URL to export

  --version, -v   print the version

exit codes: 0 succeeded, 1 failed, 2 bad usage or refused, 3 rejected/cancelled/expired, 4 timeout
migration-deployer help <command> (or <command> --help) shows a command's options.`

/** The usage of a process command. */
export function processUsage (command: ProcessCommand): string {
  return PROCESS_USAGE[command]
}

/** The package's version, from the package.json beside `src/` or `dist/`. */
export function packageVersion (): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return typeof manifest.version === 'string' ? manifest.version : 'unknown'
}

/** Whether an argument list asks for help (`--help`, `-h`) anywhere. */
export function asksForHelp (args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h')
}
