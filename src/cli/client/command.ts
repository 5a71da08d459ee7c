/** Where a command writes and what it reads from its process. */
export interface CliIo {
  out: (text: string) => void
  /** Writes to stdout as is (no newline added): a progress line redrawn in place. */
  write?: (text: string) => void
  /** Whether stdout is a terminal (a line may update in place) rather than a pipe or a CI log. */
  stdoutIsTTY?: boolean
  err: (text: string) => void
  env: NodeJS.ProcessEnv
  cwd: string
}

/** One client command of the CLI (SPEC §10). */
export interface ClientCommand {
  name: string
  summary: string
  /** The usage text shown by --help and after a usage error. */
  usage: string
  /** Runs the command and returns its exit code. */
  run: (args: string[], io: CliIo) => Promise<number>
}

export const CONNECTION_HELP = `connection: --server <url> (or DEPLOYER_URL), --token <token> (or DEPLOYER_TOKEN; prefer the variable;
  a CI job's OIDC token works too), or --oidc-audience <aud> to fetch the job's OIDC token inside GitHub Actions (id-token: write)`
