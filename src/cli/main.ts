#!/usr/bin/env node
import { ConfigError } from '../errors/index.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'

const USAGE = `usage: migration-deployer <command> [options]

processes:
  start       API and worker in one process (what npm start runs)
  serve       the HTTP API only
  worker      the BullMQ worker only
  migrate     migrate the control database (DATABASE_URL) and exit: as the schema's owner, when the
              processes connect as a role that may not change it (ops/control-db-role.sql)
  environment: DEPLOYER_CONFIG, DATABASE_URL, REDIS_URL, HOST, PORT, LOG_LEVEL, WORKER_CONCURRENCY, METRICS_PORT,
    DEPLOYER_QUEUE, RECONCILE_INTERVAL, WORKER_LOCK_DURATION, WORKER_STALLED_INTERVAL,
    WORKER_MAX_STALLED, SHUTDOWN_GRACE, ENQUEUE_TIMEOUT

client (talks to DEPLOYER_URL with DEPLOYER_TOKEN, or --server/--token):
  deploy      --env <name> [--dir <folder>] [--dry-run] [--skip-backup] [--skip-health-check] [--wait] [--timeout <d>] [--json]
  restore     --env <name> --backup <id> [--dry-run] [--wait] [--timeout <d>] [--json]
  approve     <id> [--comment <text>]
  reject      <id> --reason <text>
  cancel      <id>
  status      <id> [--json]
  log         <id> [--follow]
  envs        [--json]
  env-status  <name> [--json]

exit codes: 0 succeeded, 1 failed, 2 bad usage or refused, 3 rejected/cancelled/expired, 4 timeout
migration-deployer <command> --help shows a command's options.`

const CLIENT_COMMAND_NAMES = ['deploy', 'restore', 'approve', 'reject', 'cancel', 'status', 'log', 'envs', 'env-status']

async function main (argv: string[]): Promise<number> {
  const [command] = argv
  if (command === 'start' || command === 'serve' || command === 'worker') {
    // Imported on demand: the client commands should not pay for loading the server.
    const { runProcesses } = await import('./run-processes.js')
    await runProcesses(command)
    return -1
  }
  if (command === 'migrate') {
    const { migrateControl } = await import('./migrate-control.js')
    return await migrateControl(process.env, (line) => { console.log(line) })
  }
  if (command !== undefined && CLIENT_COMMAND_NAMES.includes(command)) {
    const { findClientCommand, runClientCommand } = await import('./client/index.js')
    const client = findClientCommand(command)
    if (client === undefined) throw new Error(`client command ${command} is not registered`)
    return await runClientCommand(client, argv.slice(1), {
      out: (text) => { process.stdout.write(`${text}\n`) },
      err: (text) => { process.stderr.write(`${text}\n`) },
      env: process.env,
      cwd: process.cwd()
    })
  }
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE)
    return command === undefined ? 2 : 0
  }
  console.error(`unknown command "${command}"\n\n${USAGE}`)
  return 2
}

main(process.argv.slice(2)).then((code) => {
  // -1: a long-running process; it exits on its own signal handling.
  if (code >= 0) process.exitCode = code
}, (error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message)
  else console.error(`migration-deployer: ${safeErrorMessage(error)}`)
  process.exitCode = 1
})
