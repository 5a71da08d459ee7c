import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { execa } from 'execa'
import { PROJECT_ROOT } from './harness.js'
import { until } from './until.js'

/**
 * The real Prisma Migrate 6.19.3 CLI, run offline through its wasm schema engine, as prepared by
 * `../shared/prisma6/setup.sh` (see its README). It sits beside the project, not in it: a user's
 * clone has no such folder, and tests that need it skip (prisma6Missing says why).
 */
export const PRISMA6_SHARED = path.resolve(PROJECT_ROOT, '../shared/prisma6')

/** Where setup.sh installs the CLI: PRISMA6_DIR, else the project's .data (kept between runs). */
const PRISMA6_DIR = process.env.PRISMA6_DIR ?? path.join(PROJECT_ROOT, '.data', 'prisma6')

/** Why the real Prisma CLI cannot be used here, or undefined when it can. */
export function prisma6Missing (): string | undefined {
  if (existsSync(path.join(PRISMA6_SHARED, 'setup.sh')) && existsSync(path.join(PRISMA6_SHARED, 'env.sh'))) return undefined
  return `the real Prisma 6.19.3 (${PRISMA6_SHARED}, see its README) is not beside this project: Prisma CLI interoperability not checked`
}

/**
 * A Prisma config that honours the URL's `schema` parameter the way Prisma's native engine does.
 * The shared config hands `DATABASE_URL` to @prisma/adapter-pg, where the schema engine takes the
 * schema from the adapter's options, not the URL, and nothing sets the search path (measured:
 * `migrate deploy` with `?schema=billing` lands in public). Here the adapter gets the URL's schema
 * (so the schema engine checks for it and creates it, as setup_connection does) and every session
 * the search path quaint's native connector sends at startup, `"<schema>"`, unescaped as quaint
 * writes it. The type workaround is the shared config's (prisma/orm#27403).
 */
const SCHEMA_PARAM_CONFIG = `import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";

const REMAP: Record<number, number> = { 19: 25, 18: 25, 1003: 1009, 1002: 1009 };
const fix = (r: any) => {
  for (const res of Array.isArray(r) ? r : [r])
    for (const f of res?.fields ?? []) if (REMAP[f.dataTypeID]) f.dataTypeID = REMAP[f.dataTypeID];
  return r;
};
class FixClient extends pg.Client {
  // @ts-ignore
  query(...args: any[]) {
    const cb = args[args.length - 1];
    if (typeof cb === "function") args[args.length - 1] = (err: any, res: any) => cb(err, err ? res : fix(res));
    // @ts-ignore
    const p = super.query(...args);
    return p && typeof p.then === "function" ? p.then(fix) : p;
  }
}

const url = new URL(process.env.DATABASE_URL!);
const schema = url.searchParams.getAll("schema").at(-1);
url.searchParams.delete("schema");
// libpq's options syntax: a backslash escapes a space or a backslash.
const options = schema === undefined ? undefined : "-c search_path=" + ('"' + schema + '"').replace(/[\\\\ ]/g, (c) => "\\\\" + c);

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  adapter: async () => {
    const factory = new PrismaPg(
      new pg.Pool({
        connectionString: url.toString(), ...(options === undefined ? {} : { options }),
        Client: FixClient as any, allowExitOnIdle: true, idleTimeoutMillis: 200
      }),
      schema === undefined ? undefined : { schema });
    if (process.env.WHOLE_SCRIPT) {
      // The shared config's: each migration as one simple query, as the native engine sends it.
      const connect = factory.connect.bind(factory);
      (factory as any).connect = async () => {
        const a: any = await connect();
        a.executeScript = async (script: string) => { try { await a.client.query(script); } catch (e) { a.onError(e); } };
        return a;
      };
    }
    return factory;
  },
  schema: "prisma/schema.prisma",
  migrations: { path: process.env.MIG_DIR ?? "prisma/migrations" },
});
`

export interface Prisma6 {
  /** Runs `prisma <args>` against `databaseUrl` (in the environment, never in argv) and a migrations folder. */
  run: (args: string[], target: { databaseUrl: string, migrationsDir: string, wholeScript?: boolean }) => Promise<{ exitCode: number, output: string }>
}

/** A lock older than this was left by a killed run: setup.sh never takes that long. */
const STALE_LOCK_MS = 600_000

/**
 * Runs setup.sh under a lock (a directory: mkdir is atomic): test files run in parallel, and two
 * `npm i` into one folder at once fail, or one sees the other's half-installed prisma and skips.
 */
async function setUpOnce (): Promise<void> {
  mkdirSync(PRISMA6_DIR, { recursive: true })
  const lock = path.join(PRISMA6_DIR, '.setup-lock')
  await until(() => {
    try {
      mkdirSync(lock)
      return true
    } catch {
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true })
      return undefined
    }
  }, `the Prisma 6 setup lock ${lock}`, STALE_LOCK_MS + 60_000, 250)
  try {
    await execa('bash', [path.join(PRISMA6_SHARED, 'setup.sh')], { env: { PRISMA6_DIR }, timeout: 300_000 })
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** Installs (once; about 15 s, then cached) and returns the real Prisma CLI with the schema-parameter config. */
export async function preparePrisma6 (): Promise<Prisma6> {
  await setUpOnce()
  const config = path.join(PRISMA6_DIR, 'migration-deployer-schema-param.config.ts')
  writeFileSync(config, SCHEMA_PARAM_CONFIG)
  return {
    run: async (args, target) => {
      // Sources env.sh (engine paths, no downloads), then runs the CLI with the remaining arguments.
      const script = '. "$1" && shift && exec "$P6/node_modules/.bin/prisma" "$@"'
      const result = await execa('bash', ['-c', script, 'prisma6', path.join(PRISMA6_SHARED, 'env.sh'), ...args, `--config=${config}`], {
        cwd: PRISMA6_DIR,
        // wholeScript: each migration as one simple query ($$ bodies intact), not split on ';' by adapter-pg.
        env: { PRISMA6_DIR, DATABASE_URL: target.databaseUrl, MIG_DIR: target.migrationsDir, ...(target.wholeScript === true ? { WHOLE_SCRIPT: '1' } : {}) },
        reject: false,
        all: true,
        timeout: 180_000
      })
      return { exitCode: result.exitCode ?? -1, output: String(result.all ?? result.message) }
    }
  }
}
