import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { migrateControlDatabase } from '../../src/process/migrate-control-database.js'
import { createDatabase, databaseUrl, dropDatabase } from './databases.js'
import { writePrismaHistory } from './prisma-history.js'

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The documenso corpus beside the project (a CI clone has `../shared` too). BENCH_CORPUS_DIR
 * overrides it, for a checkout that does not sit beside `shared/`.
 */
export function corpusDir (): string {
  return path.resolve(process.env.BENCH_CORPUS_DIR ?? path.join(PROJECT_ROOT, '../shared/corpus/documenso'))
}

/** Everything one bench run owns: its databases, queue, tokens, config file and workspace. */
export interface BenchEnv {
  suffix: string
  tmp: string
  configPath: string
  queueName: string
  controlDb: string
  devDb: string
  /** Recreated before every apply through the service. */
  corpusDb: string
  /** The psql baseline's database, recreated before every psql run. */
  psqlDb: string
  corpus: string
  /** The histories the `histories` part deploys to a dev environment each (through the service, psql and the Prisma peer). */
  histories: BenchHistory[]
  /** The Prisma peer's database, recreated before each of its runs. */
  peerDb: string
  tokens: { deployer: string, viewer: string }
  /** The environment of the service processes (URLs, config, queue). */
  serviceEnv: NodeJS.ProcessEnv
  cleanup: () => Promise<void>
}

/** A Prisma history deployed whole into a fresh database by the `histories` part. */
export interface BenchHistory {
  label: string
  /** Its dev-mode environment in the bench's config. */
  environment: string
  /** The migrations folder (in the workspace). */
  folder: string
  /** The environment's database, recreated before each deployment. */
  database: string
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/**
 * Creates fresh databases (CREATE DATABASE) for the control DB and the targets, a workspace
 * holding copies of the example app and the corpus, and a config file with tokens of its own.
 */
export async function createBenchEnv (): Promise<BenchEnv> {
  const corpus = corpusDir()
  if (!existsSync(path.join(corpus, '20230404095503_initial_migration', 'migration.sql'))) {
    throw new Error(`the documenso corpus is not at ${corpus}: set BENCH_CORPUS_DIR to its folder`)
  }
  const suffix = randomBytes(4).toString('hex')
  const tmp = await mkdtemp(path.join(tmpdir(), 'md-bench-'))
  const created: string[] = []
  const make = async (prefix: string): Promise<string> => {
    const name = `${prefix}_${suffix}`
    await createDatabase(name)
    created.push(name)
    return name
  }
  const cleanup = async (): Promise<void> => {
    await Promise.all(created.map(async (name) => { await dropDatabase(name).catch(() => {}) }))
    await rm(tmp, { recursive: true, force: true })
  }
  try {
    const [controlDb, devDb, corpusDb, psqlDb] = [await make('mdb_control'), await make('mdb_dev'), await make('mdb_corpus'), await make('mdb_psql')]
    const [largeDb, documensoDevDb, peerDb] = [await make('mdb_large'), await make('mdb_docdev'), await make('mdb_peer')]
    // The service's own schema is in place before its processes start, as on any start after the
    // first install: the processes measured are in their steady state (a process that applies
    // control migrations at start also loads the SQL parser, which an API process never needs again).
    await migrateControlDatabase(databaseUrl(controlDb))
    const workspace = path.join(tmp, 'workspace')
    await mkdir(workspace)
    await cp(path.join(PROJECT_ROOT, 'migrations-fixtures', 'app'), path.join(workspace, 'app'), { recursive: true })
    await cp(corpus, path.join(workspace, 'documenso'), { recursive: true })
    // The shape of the 434-migration public history (bench/lib/prisma-history.ts), written afresh each run.
    await writePrismaHistory(path.join(workspace, 'large-history'))
    const histories: BenchHistory[] = [
      { label: 'generated 434-migration history', environment: 'large-dev', folder: path.join(workspace, 'large-history'), database: largeDb },
      { label: 'documenso', environment: 'documenso-dev', folder: path.join(workspace, 'documenso'), database: documensoDevDb }
    ]

    const tokens = { deployer: `bench-ci-${randomBytes(16).toString('hex')}`, viewer: `bench-viewer-${randomBytes(16).toString('hex')}` }
    const config = {
      workspace_root: workspace,
      environments: {
        dev: { database_url_env: 'BENCH_DEV_DATABASE_URL', working_directory: 'app' },
        // Not dev/test by name: deploy mode, unprotected, so it applies without approval or backup.
        corpus: { database_url_env: 'BENCH_CORPUS_DATABASE_URL', working_directory: 'documenso' },
        // The histories part: dev mode, as the issue measures it.
        'large-dev': { mode: 'dev', database_url_env: 'BENCH_LARGE_DATABASE_URL', working_directory: 'large-history' },
        'documenso-dev': { mode: 'dev', database_url_env: 'BENCH_DOCUMENSO_DEV_DATABASE_URL', working_directory: 'documenso' }
      },
      auth: {
        tokens: [
          { name: 'bench-ci', sha256: sha256(tokens.deployer), roles: ['deployer'] },
          { name: 'bench-viewer', sha256: sha256(tokens.viewer), roles: ['viewer'] }
        ]
      },
      // The bench measures throughput from one token per role: the per-token rate limit (600 a
      // minute by default) and the per-token limit of queued work (20 by default; the accept burst
      // queues thousands with the worker stopped) would turn it into a measurement of 429s.
      limits: { rate_limit: { max: 100_000_000, window: '1m' }, queued_per_token: 100_000_000 }
    }
    const configPath = path.join(tmp, 'migration-deployer.yaml')
    // JSON is YAML.
    await writeFile(configPath, JSON.stringify(config, null, 2))
    const queueName = `bench-${suffix}`
    const serviceEnv: NodeJS.ProcessEnv = {
      DATABASE_URL: databaseUrl(controlDb),
      REDIS_URL: process.env.REDIS_URL,
      DEPLOYER_CONFIG: configPath,
      DEPLOYER_QUEUE: queueName,
      BENCH_DEV_DATABASE_URL: databaseUrl(devDb),
      BENCH_CORPUS_DATABASE_URL: databaseUrl(corpusDb),
      BENCH_LARGE_DATABASE_URL: databaseUrl(largeDb),
      BENCH_DOCUMENSO_DEV_DATABASE_URL: databaseUrl(documensoDevDb),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info'
    }
    return { suffix, tmp, configPath, queueName, controlDb, devDb, corpusDb, psqlDb, corpus, histories, peerDb, tokens, serviceEnv, cleanup }
  } catch (error) {
    await cleanup()
    throw error
  }
}
