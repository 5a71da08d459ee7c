import type { CommandToolConfig } from '../../config/schema.js'
import { parsePrismaStatus, parseSequelizeStatus, parseTypeormStatus, patternStatusParser, type StatusParser } from './status-formats.js'

/** How migration files are found and named, to show them to reviewers and checksum them. */
export type SourceLayout =
  /** JS/TS files whose migration name is the class's `name` (or the class name): TypeORM. */
  | 'class-files'
  /** JS/TS files named by their file name: sequelize-cli. */
  | 'named-files'
  /** `<name>/migration.sql` folders: Prisma. */
  | 'prisma-folders'
  /** Any file of the folder, named by its file name (a custom tool with migrations_dir). */
  | 'any-files'
  /** The tool's files are not known: names come from its status only, with no content. */
  | 'none'

/** Lines of the tool's apply output that say a migration started, finished or failed. */
export interface OutputMarkers {
  started?: RegExp
  /** May capture `seconds`: the tool's own timing of the migration. */
  applied?: RegExp
  /** Each may capture `name` and/or `message`. */
  failure: RegExp[]
}

/** A command tool with every preset default filled in. */
export interface ToolSpec {
  /** The tool's name for logs and plans: the preset, or the program. */
  tool: string
  status: string[]
  apply: string[]
  preview: string[] | undefined
  parseStatus: StatusParser
  layout: SourceLayout
  migrationsDir: string | undefined
  /** Whether the tool runs a migration in a transaction by default (shown in the plan). */
  transactional: boolean
  markers: OutputMarkers
  urlEnv: string
  env: Record<string, string>
  passEnv: string[]
  timeoutMs: number
  statusTimeoutMs: number
}

interface Preset {
  status: string[]
  apply: string[]
  parseStatus: StatusParser
  layout: SourceLayout
  migrationsDir: string
  transactional: boolean
  markers: OutputMarkers
}

/**
 * The built-in presets. Programs are found in the project's node_modules/.bin (then PATH).
 * - typeorm: `typeorm migration:show|migration:run -d <data_source>` (default `data-source.js`);
 *   TypeORM runs all pending migrations in one transaction by default (`transaction: 'all'`).
 * - sequelize: `sequelize-cli db:migrate:status|db:migrate`; no transaction unless a migration opens one.
 * - prisma: `prisma migrate status|deploy`; each migration in its own transaction, like the prisma handler.
 */
function presetFor (name: NonNullable<CommandToolConfig['preset']>, dataSource: string): Preset {
  switch (name) {
    case 'typeorm':
      return {
        status: ['typeorm', 'migration:show', '-d', dataSource],
        apply: ['typeorm', 'migration:run', '-d', dataSource],
        parseStatus: parseTypeormStatus,
        layout: 'class-files',
        migrationsDir: 'migrations',
        transactional: true,
        markers: {
          applied: /^Migration (?<name>\S+) has been executed successfully\.$/,
          failure: [/^Migration "(?<name>[^"]+)" failed, error: (?<message>.+)$/]
        }
      }
    case 'sequelize':
      return {
        status: ['sequelize-cli', 'db:migrate:status'],
        apply: ['sequelize-cli', 'db:migrate'],
        parseStatus: parseSequelizeStatus,
        layout: 'named-files',
        migrationsDir: 'migrations',
        transactional: false,
        markers: {
          started: /^== (?<name>\S+): migrating =+$/,
          applied: /^== (?<name>\S+): migrated \((?<seconds>[\d.]+)s\)$/,
          failure: [/^ERROR: (?<message>.+)$/]
        }
      }
    case 'prisma':
      return {
        status: ['prisma', 'migrate', 'status'],
        apply: ['prisma', 'migrate', 'deploy'],
        parseStatus: parsePrismaStatus,
        layout: 'prisma-folders',
        migrationsDir: '.',
        transactional: true,
        markers: {
          started: /^Applying migration `(?<name>[^`]+)`$/,
          failure: [/^Migration name: (?<name>\S+)$/, /^(?:Database error: )?ERROR: (?<message>.+)$/]
        }
      }
  }
}

function parserFor (format: CommandToolConfig['status_format'], config: CommandToolConfig): StatusParser | undefined {
  switch (format) {
    case 'typeorm': return parseTypeormStatus
    case 'sequelize': return parseSequelizeStatus
    case 'prisma': return parsePrismaStatus
    case 'patterns': return config.status_patterns === undefined ? undefined : patternStatusParser(config.status_patterns)
    default: return undefined
  }
}

/** The effective tool of an environment's `command:` config: the preset's defaults under its explicit settings. */
export function toolSpecOf (config: CommandToolConfig): ToolSpec {
  const preset = config.preset === undefined ? undefined : presetFor(config.preset, config.data_source ?? 'data-source.js')
  const status = config.status ?? preset?.status
  const apply = config.apply ?? preset?.apply
  const parseStatus = parserFor(config.status_format, config) ?? preset?.parseStatus
  // The config schema requires these without a preset.
  if (status === undefined || apply === undefined || parseStatus === undefined) throw new Error('command: status, apply and status_format are required without a preset')
  const migrationsDir = config.migrations_dir ?? preset?.migrationsDir
  return {
    tool: config.preset ?? status[0] ?? 'command',
    status,
    apply,
    preview: config.preview,
    parseStatus,
    layout: preset?.layout ?? (migrationsDir === undefined ? 'none' : 'any-files'),
    migrationsDir,
    transactional: preset?.transactional ?? false,
    markers: preset?.markers ?? { failure: [] },
    urlEnv: config.url_env,
    env: config.env,
    passEnv: config.pass_env,
    timeoutMs: config.timeout,
    statusTimeoutMs: config.status_timeout
  }
}
