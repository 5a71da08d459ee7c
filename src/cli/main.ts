#!/usr/bin/env node
import { ConfigError } from '../errors/index.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { runProcesses, type ProcessRole } from './run-processes.js'

const USAGE = `usage: migration-deployer <command>

commands:
  start     API and worker in one process (what npm start runs)
  serve     the HTTP API only
  worker    the BullMQ worker only

environment: DEPLOYER_CONFIG, DATABASE_URL, REDIS_URL, HOST, PORT, LOG_LEVEL, WORKER_CONCURRENCY,
  DEPLOYER_QUEUE, RECONCILE_INTERVAL, WORKER_LOCK_DURATION, WORKER_STALLED_INTERVAL,
  WORKER_MAX_STALLED, SHUTDOWN_GRACE, ENQUEUE_TIMEOUT`

async function main (argv: string[]): Promise<number> {
  const [command] = argv
  if (command === 'start' || command === 'serve' || command === 'worker') {
    await runProcesses(command as ProcessRole)
    return -1
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
