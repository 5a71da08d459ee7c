import type { ClientCommand, CliIo } from './command.js'
import { approveCommand, cancelCommand, rejectCommand } from './decision-commands.js'
import { deployCommand } from './deploy.js'
import { devDbCommand } from './dev-db.js'
import { CliError, UsageError } from './errors.js'
import { EXIT } from './exit-codes.js'
import { envsCommand, envStatusCommand, logCommand, statusCommand } from './read-commands.js'
import { restoreCommand } from './restore.js'
import { overrideWindowCommand } from './window-commands.js'

export const CLIENT_COMMANDS: readonly ClientCommand[] = [
  deployCommand, restoreCommand, approveCommand, rejectCommand, cancelCommand, overrideWindowCommand,
  statusCommand, logCommand, envsCommand, envStatusCommand, devDbCommand
]

export function findClientCommand (name: string): ClientCommand | undefined {
  return CLIENT_COMMANDS.find((command) => command.name === name)
}

/**
 * Runs a client command and turns every failure into a message and an exit code: usage errors
 * with the command's usage (2), refused requests (2), an unreachable or failing server (1).
 * Nothing printed here can hold the token: the client redacts what it reports.
 */
export async function runClientCommand (command: ClientCommand, args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(command.usage)
    return EXIT.ok
  }
  try {
    return await command.run(args, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`migration-deployer ${command.name}: ${error.message}\n\n${command.usage}`)
      return error.exitCode
    }
    if (error instanceof CliError) {
      io.err(`migration-deployer ${command.name}: ${error.message}`)
      return error.exitCode
    }
    throw error
  }
}
