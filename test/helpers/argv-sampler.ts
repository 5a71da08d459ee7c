import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

/** One process seen by the sampler: its pid and argv (as `ps -o args` would show them). */
export interface ProcessSample { pid: number, argv: string[] }

/**
 * Samples the argv of every process on the machine (what `ps` shows to any local user) every
 * few milliseconds, from /proc. Secrets must never be there: external tools such as pg_dump get
 * their credentials through the environment.
 */
export class ArgvSampler {
  /** Every distinct command line seen, keyed by pid + command line. */
  readonly seen = new Map<string, ProcessSample>()
  private timer: NodeJS.Timeout | undefined
  samples = 0

  start (intervalMs = 5): void {
    this.timer = setInterval(() => { this.sample() }, intervalMs)
  }

  stop (): void {
    clearInterval(this.timer)
    this.sample()
  }

  sample (): void {
    this.samples++
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      let raw: string
      try {
        raw = readFileSync(path.join('/proc', entry, 'cmdline'), 'utf8')
      } catch {
        continue // the process ended between readdir and read
      }
      if (raw === '') continue
      const key = `${entry}:${raw}`
      if (!this.seen.has(key)) this.seen.set(key, { pid: Number(entry), argv: raw.replace(/\0$/, '').split('\0') })
    }
  }

  /** Processes whose program (argv[0]'s base name) is `name`. */
  processesNamed (name: string): ProcessSample[] {
    return [...this.seen.values()].filter((p) => path.basename(p.argv[0] ?? '') === name)
  }

  /** Everything seen, one command line per line. */
  text (): string {
    return [...this.seen.values()].map((p) => p.argv.join(' ')).join('\n')
  }
}
