#!/usr/bin/env node
import { ConfigError } from '../errors/index.js'
import { safeErrorMessage } from '../lib/mask-secrets.js'
import { asksForHelp, GENERAL_USAGE, MIGRATE_USAGE, packageVersion, PROCESS_COMMANDS, processUsage, type ProcessCommand } from './help.js'

// The commands of src/cli/client, by name: listed here so that the process commands do not load them.
const CLIENT_COMMAND_NAMES = ['deploy', 'restore', 'approve', 'reject', 'cancel', 'override-window', 'status', 'log', 'envs', 'env-status', 'dev-db']

const isProcessCommand = (command: string | undefined): command is ProcessCommand => PROCESS_COMMANDS.includes(command as ProcessCommand)

async function runClient (command: string, args: string[]): Promise<number> {
  const { findClientCommand, runClientCommand } = await import('./client/index.js')
  const client = findClientCommand(command)
  if (client === undefined) throw new Error(`client command ${command} is not registered`)
  return await runClientCommand(client, args, {
    out: (text) => { process.stdout.write(`${text}\n`) },
    write: (text) => { process.stdout.write(text) },
    stdoutIsTTY: process.stdout.isTTY,
    err: (text) => { process.stderr.write(`${text}\n`) },
    env: process.env,
    cwd: process.cwd()
  })
}

/** `help`, `help <command>`: the general usage or one command's. */
async function printHelp (topic: string | undefined): Promise<number> {
  if (topic === undefined) {
    console.log(GENERAL_USAGE)
    return 0
  }
  if (isProcessCommand(topic)) {
    console.log(processUsage(topic))
    return 0
  }
  if (topic === 'migrate') {
    console.log(MIGRATE_USAGE)
    return 0
  }
  if (CLIENT_COMMAND_NAMES.includes(topic)) return await runClient(topic, ['--help'])
  console.error(`migration-deployer help: no command "${topic}"\n\n${GENERAL_USAGE}`)
  return 2
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === '--version' || command === '-v' || command === 'version') {
    console.log(packageVersion())
    return 0
  }
  if (isProcessCommand(command)) {
    // Help never starts anything, nor needs DATABASE_URL.
    if (asksForHelp(rest)) {
      console.log(processUsage(command))
      return 0
    }
    if (rest.length > 0) {
      console.error(`migration-deployer ${command}: unexpected argument "${rest[0] ?? ''}" (settings come from the environment)\n\n${processUsage(command)}`)
      return 2
    }
    // Imported on demand: the client commands should not pay for loading the server.
    const { runProcesses } = await import('./run-processes.js')
    await runProcesses(command)
    return -1
  }
  if (command === 'migrate') {
    if (asksForHelp(rest)) {
      console.log(MIGRATE_USAGE)
      return 0
    }
    const { migrateControl } = await import('./migrate-control.js')
    return await migrateControl(process.env, (line) => { console.log(line) })
  }
  if (command !== undefined && CLIENT_COMMAND_NAMES.includes(command)) return await runClient(command, rest)
  if (command === 'help') return await printHelp(rest[0])
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(GENERAL_USAGE)
    return command === undefined ? 2 : 0
  }
  console.error(`unknown command "${command}"\n\n${GENERAL_USAGE}`)
  return 2
}

// A reader that stops early (`status <id> | head -3`) closes the pipe: stop writing, quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
}

main(process.argv.slice(2)).then((code) => {
  // -1: a long-running process; it exits on its own signal handling.
  if (code >= 0) process.exitCode = code
}, (error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message)
  else console.error(`migration-deployer: ${safeErrorMessage(error)}`)
  process.exitCode = 1
  // A process that failed to start ends now: what it opened is closed, but a client library may
  // still hold a timer for seconds (ioredis waits 2 s for a closed socket to end).
  if (isProcessCommand(process.argv[2])) process.exit(1)
})
