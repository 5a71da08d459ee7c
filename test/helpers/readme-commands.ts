import { spawnSync } from 'node:child_process'

/** One shell command of a README code block, with the comment lines that followed it. */
export interface ReadmeCommand {
  /** The command as written (continuation lines, multi-line quotes and here-documents included). */
  text: string
  section: string
}

/** The text of a README section (`## <title>` up to the next `## `). */
export function readmeSection (readme: string, title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`)
  if (start === -1) throw new Error(`the README has no section "## ${title}"`)
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end === -1 ? undefined : end)
}

/** The ```sh blocks of a section, in order. */
export function shellBlocks (section: string): string[] {
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] as string)
}

const isComplete = (text: string): boolean => spawnSync('bash', ['-n'], { input: text }).status === 0

/**
 * Splits a block into the commands a reader would paste one at a time: lines are joined while
 * a quote, a `\` continuation or a here-document is open (bash -n decides), and comment lines
 * between commands are dropped.
 */
export function splitCommands (block: string, section: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = []
  let current: string[] = []
  let heredoc: string | undefined
  for (const line of block.split('\n')) {
    if (current.length === 0 && (line.trim() === '' || line.trim().startsWith('#'))) continue
    current.push(line)
    if (heredoc !== undefined) {
      if (line === heredoc) heredoc = undefined
      else continue
    } else {
      const opened = /<<-?\s*['"]?(\w+)['"]?/.exec(line)
      if (opened !== null) { heredoc = opened[1]; continue }
    }
    const text = current.join('\n')
    if (line.endsWith('\\') || !isComplete(text)) continue
    commands.push({ text, section })
    current = []
  }
  if (current.length > 0) throw new Error(`${section}: unfinished command in the README: ${current.join('\n')}`)
  return commands
}
