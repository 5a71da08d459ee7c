import { existsSync } from 'node:fs'
import path from 'node:path'
import { execa } from 'execa'
import { PROJECT_ROOT } from './bench-env.js'

/**
 * The peer: the real Prisma Migrate 6.19.3 CLI, offline (wasm schema engine through
 * @prisma/adapter-pg), as `../shared/prisma6/setup.sh` prepares it. It sits beside the project,
 * not in it: a clone without `../shared` runs the bench without the peer and says so.
 */
export const PRISMA6_SHARED = path.resolve(process.env.BENCH_PRISMA6_SHARED ?? path.join(PROJECT_ROOT, '../shared/prisma6'))
// The same install the interoperability tests use (kept between runs).
const PRISMA6_DIR = process.env.PRISMA6_DIR ?? path.join(PROJECT_ROOT, '.data', 'prisma6')

/** Why the peer cannot run here, or undefined when it can. */
export function prismaPeerMissing (): string | undefined {
  if (existsSync(path.join(PRISMA6_SHARED, 'setup.sh')) && existsSync(path.join(PRISMA6_SHARED, 'env.sh'))) return undefined
  return `the real Prisma 6.19.3 is not at ${PRISMA6_SHARED} (see its README): the peer column is skipped`
}

export interface PrismaPeer {
  /** `prisma migrate deploy` of `migrationsDir` into `databaseUrl`; the wall time of the CLI process, in ms. */
  deploy: (databaseUrl: string, migrationsDir: string) => Promise<number>
}

/** Installs the CLI (once, about 15 s; then cached) and returns the peer. */
export async function preparePrismaPeer (): Promise<PrismaPeer> {
  await execa('bash', [path.join(PRISMA6_SHARED, 'setup.sh')], { env: { PRISMA6_DIR }, timeout: 300_000 })
  return {
    async deploy (databaseUrl, migrationsDir) {
      // env.sh points Prisma at the wasm engine (no downloads). WHOLE_SCRIPT=1: each migration goes as one
      // simple query, as Prisma's native engine sends it (adapter-pg would split on ';', breaking $$ bodies).
      const script = '. "$1" && exec "$P6/node_modules/.bin/prisma" migrate deploy'
      const started = performance.now()
      const result = await execa('bash', ['-c', script, 'prisma6', path.join(PRISMA6_SHARED, 'env.sh')], {
        cwd: PRISMA6_DIR,
        // The URL (with its password) goes through the environment, never the arguments.
        env: { PRISMA6_DIR, DATABASE_URL: databaseUrl, MIG_DIR: migrationsDir, WHOLE_SCRIPT: '1' },
        reject: false,
        all: true,
        timeout: 600_000
      })
      const elapsed = performance.now() - started
      const output = String(result.all ?? result.message)
      if (result.exitCode !== 0 || !/successfully applied/.test(output)) {
        throw new Error(`prisma migrate deploy exited ${String(result.exitCode)}: ${output.slice(-2000)}`)
      }
      return elapsed
    }
  }
}
