import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'

/**
 * A synthetic Prisma Migrate history with the shape of a large public one (434 migrations): many
 * small DDL files as `prisma migrate dev` writes them, about a quarter of them one
 * `CREATE INDEX CONCURRENTLY` each (hand-written, so Prisma runs them outside a transaction), a
 * dozen enum rewrites in their own BEGIN/COMMIT (what Prisma generates when a value is removed),
 * enum values added, a few large data backfills, and folder names Prisma accepts but that are not
 * the usual `<14 digits>_<snake_case>` (a `0_init` baseline, spaces, capitals, dots, hyphens,
 * non-ASCII, short timestamps). Deterministic for a given seed, so every run applies the same bytes.
 */
export interface HistoryShape {
  migrations: number
  /** Share of one-statement `CREATE INDEX CONCURRENTLY` files. */
  concurrentShare: number
  /** Files with their own BEGIN/COMMIT (enum rewrites). */
  ownTransaction: number
  /** Large data backfills (INSERT … SELECT generate_series, UPDATE of every row). */
  backfills: number
  /** Rows each backfill writes or rewrites. */
  backfillRows: number
  seed: number
}

/** The shape of the 434-migration public history (98 CIC files, 13 with their own transaction). */
export const PUBLIC_HISTORY_SHAPE: HistoryShape = { migrations: 434, concurrentShare: 0.226, ownTransaction: 13, backfills: 4, backfillRows: 50_000, seed: 434 }

/** What was written, by kind, for the bench's report. */
export interface WrittenHistory {
  folder: string
  names: string[]
  kinds: Record<string, number>
}

interface Table { name: string, columns: string[], unindexed: string[], enums: string[] }
interface Enum { name: string, values: string[], table: string, column: string }

// mulberry32: a small seeded generator, enough to spread the kinds and names reproducibly.
function random (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const ODD_NAMES = ['Add User Profile', 'fix-typo.v2', 'índices_de_búsqueda', 'UPPERCASE_Name', 'add.dotted.name', 'release 2.4 - hotfix', 'émoji_free_ünïcode']

/** Writes the history under `folder` (its `<name>/migration.sql` folders and `migration_lock.toml`). */
export async function writePrismaHistory (folder: string, shape: HistoryShape = PUBLIC_HISTORY_SHAPE): Promise<WrittenHistory> {
  const rand = random(shape.seed)
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)] as T
  const tables: Table[] = []
  const enums: Enum[] = []
  const kinds: Record<string, number> = {}
  let counter = 0
  const fresh = (prefix: string): string => `${prefix}${++counter}`

  // Which migration gets which special kind: spread evenly after the first few, reproducibly.
  const total = shape.migrations
  const slots = Array.from({ length: total - 6 }, (_, i) => i + 6)
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[slots[i], slots[j]] = [slots[j] as number, slots[i] as number]
  }
  const special = new Map<number, string>()
  const take = (kind: string, count: number): void => { for (let n = 0; n < count; n++) special.set(slots.shift() as number, kind) }
  take('own_transaction', shape.ownTransaction)
  take('backfill', shape.backfills)
  take('concurrent_index', Math.round(total * shape.concurrentShare))
  take('enum_add_value', Math.round(total * 0.03))
  take('odd_name', ODD_NAMES.length)

  let backfillTable: string | undefined
  const createTable = (): string => {
    const name = fresh('Model')
    const columns = ['label', 'note', 'score'].map((c) => `${c}${counter}`)
    tables.push({ name, columns: [...columns], unindexed: [...columns], enums: [] })
    // Parents have TEXT ids (the backfill table's is a serial).
    const parents = tables.slice(0, -1).filter((table) => table.name !== backfillTable)
    const parent = parents.length > 0 ? pick(parents) : undefined
    const lines = [
      '-- CreateTable',
      `CREATE TABLE "${name}" (`,
      '    "id" TEXT NOT NULL,',
      '    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,',
      '    "updatedAt" TIMESTAMP(3) NOT NULL,',
      `    "${columns[0] as string}" TEXT NOT NULL,`,
      `    "${columns[1] as string}" TEXT,`,
      `    "${columns[2] as string}" INTEGER NOT NULL DEFAULT 0,`,
      ...(parent === undefined ? [] : [`    "${parent.name}Id" TEXT,`]),
      '',
      `    CONSTRAINT "${name}_pkey" PRIMARY KEY ("id")`,
      ');',
      ''
    ]
    if (parent !== undefined) {
      lines.push(
        '-- CreateIndex',
        `CREATE INDEX "${name}_${parent.name}Id_idx" ON "${name}"("${parent.name}Id");`,
        '',
        '-- AddForeignKey',
        `ALTER TABLE "${name}" ADD CONSTRAINT "${name}_${parent.name}Id_fkey" FOREIGN KEY ("${parent.name}Id") REFERENCES "${parent.name}"("id") ON DELETE SET NULL ON UPDATE CASCADE;`,
        ''
      )
    }
    return lines.join('\n')
  }
  const addColumn = (): string => {
    const table = pick(tables)
    const column = fresh('field')
    table.columns.push(column)
    table.unindexed.push(column)
    return `-- AlterTable\nALTER TABLE "${table.name}" ADD COLUMN     "${column}" TEXT;\n`
  }
  const plainDdl = (): string => {
    const roll = rand()
    if (roll < 0.22 || tables.length < 3) return createTable()
    if (roll < 0.6) return addColumn()
    const table = pick(tables)
    if (roll < 0.72 && table.unindexed.length > 0) {
      const column = table.unindexed.shift() as string
      return `-- CreateIndex\nCREATE INDEX "${table.name}_${column}_idx" ON "${table.name}"("${column}");\n`
    }
    if (roll < 0.82) {
      // Text columns only (the score columns are integers).
      const column = pick(table.columns.filter((name) => !name.startsWith('score')))
      return `-- AlterTable\nALTER TABLE "${table.name}" ALTER COLUMN "${column}" SET DEFAULT '${fresh('d')}';\n`
    }
    if (roll < 0.9) {
      const name = fresh('Status')
      const column = fresh('state')
      enums.push({ name, values: ['ACTIVE', 'INACTIVE', 'PENDING'], table: table.name, column })
      table.enums.push(column)
      return `-- CreateEnum\nCREATE TYPE "${name}" AS ENUM ('ACTIVE', 'INACTIVE', 'PENDING');\n\n-- AlterTable\n` +
        `ALTER TABLE "${table.name}" ADD COLUMN     "${column}" "${name}" NOT NULL DEFAULT 'ACTIVE';\n`
    }
    return addColumn() + '\n' + addColumn()
  }
  const concurrentIndex = (): string => {
    const table = tables.find((t) => t.unindexed.length > 0 && rand() < 0.5) ?? tables.find((t) => t.unindexed.length > 0)
    if (table === undefined) return addColumn()
    const column = table.unindexed.shift() as string
    return `-- Hand-written: built without blocking writes\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "${table.name}_${column}_cidx" ON "${table.name}" ("${column}");\n`
  }
  // Prisma's own output when an enum loses a value: a new type swapped in, in a transaction it writes itself.
  const ownTransaction = (): string => {
    const target = enums.length > 0 ? pick(enums) : undefined
    if (target === undefined) return plainDdl()
    // A value replaced: the last one goes, a new one comes (same count, so rewrites never run out).
    const removed = target.values.at(-1) as string
    const kept = [...target.values.slice(0, -1), `R${++counter}`]
    target.values = kept
    const list = kept.map((v) => `'${v}'`).join(', ')
    return [
      '/*',
      '  Warnings:',
      '',
      `  - The values [${removed}] on the enum \`${target.name}\` will be removed. If these variants are still used in the database, this will fail.`,
      '',
      '*/',
      '-- AlterEnum',
      'BEGIN;',
      `CREATE TYPE "${target.name}_new" AS ENUM (${list});`,
      `ALTER TABLE "${target.table}" ALTER COLUMN "${target.column}" DROP DEFAULT;`,
      `ALTER TABLE "${target.table}" ALTER COLUMN "${target.column}" TYPE "${target.name}_new" USING ("${target.column}"::text::"${target.name}_new");`,
      `ALTER TYPE "${target.name}" RENAME TO "${target.name}_old";`,
      `ALTER TYPE "${target.name}_new" RENAME TO "${target.name}";`,
      `DROP TYPE "${target.name}_old";`,
      `ALTER TABLE "${target.table}" ALTER COLUMN "${target.column}" SET DEFAULT '${kept[0] as string}';`,
      'COMMIT;',
      ''
    ].join('\n')
  }
  const enumAddValue = (): string => {
    const target = enums.length > 0 ? pick(enums) : undefined
    if (target === undefined) return plainDdl()
    const value = `V${++counter}`
    target.values.push(value)
    return `-- AlterEnum\nALTER TYPE "${target.name}" ADD VALUE '${value}';\n`
  }
  const backfill = (): string => {
    if (backfillTable === undefined) {
      backfillTable = fresh('AuditEvent')
      tables.push({ name: backfillTable, columns: ['payload'], unindexed: ['payload'], enums: [] })
      return [
        '-- CreateTable',
        `CREATE TABLE "${backfillTable}" ("id" SERIAL NOT NULL, "payload" TEXT NOT NULL, "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,`,
        `    CONSTRAINT "${backfillTable}_pkey" PRIMARY KEY ("id"));`,
        '',
        '-- Backfill: the audit trail from before the table existed',
        `INSERT INTO "${backfillTable}" ("payload", "createdAt") SELECT md5(g::text), now() - make_interval(secs => g) FROM generate_series(1, ${shape.backfillRows}) AS g;`,
        ''
      ].join('\n')
    }
    const column = fresh('digest')
    return [
      '-- AlterTable',
      `ALTER TABLE "${backfillTable}" ADD COLUMN "${column}" TEXT;`,
      '',
      '-- Backfill',
      `UPDATE "${backfillTable}" SET "${column}" = upper(substr("payload", 1, 12)) WHERE "id" % 2 = 0;`,
      `INSERT INTO "${backfillTable}" ("payload") SELECT md5((g * 7)::text) FROM generate_series(1, ${Math.round(shape.backfillRows / 5)}) AS g;`,
      ''
    ].join('\n')
  }

  const names: string[] = []
  let stamp = Date.UTC(2021, 0, 4, 9, 0, 0)
  let odd = 0
  await mkdir(folder, { recursive: true })
  await writeFile(path.join(folder, 'migration_lock.toml'), '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n')
  for (let index = 0; index < total; index++) {
    stamp += Math.floor(rand() * 3 * 86_400_000) + 60_000
    const digits = new Date(stamp).toISOString().replace(/[-:T]/g, '').slice(0, 14)
    let kind = special.get(index) ?? 'ddl'
    let sql: string
    if (index === 0) {
      kind = 'baseline'
      const first = createTable()
      const name = fresh('Role')
      const column = fresh('role')
      enums.push({ name, values: ['USER', 'ADMIN', 'OWNER'], table: tables[0]?.name as string, column })
      const role = `-- CreateEnum\nCREATE TYPE "${name}" AS ENUM ('USER', 'ADMIN', 'OWNER');\n\n-- AlterTable\n` +
        `ALTER TABLE "${tables[0]?.name as string}" ADD COLUMN "${column}" "${name}" NOT NULL DEFAULT 'USER';\n`
      sql = [first, role, createTable(), createTable()].join('\n')
    } else if (kind === 'odd_name') {
      // Creates nothing a later file uses: a short timestamp sorts after the rest of its day.
      const table = pick(tables)
      sql = `-- Hand-written\nCOMMENT ON TABLE "${table.name}" IS 'reviewed ${fresh('r')}';\n`
    } else if (kind === 'own_transaction') sql = ownTransaction()
    else if (kind === 'backfill') sql = backfill()
    else if (kind === 'concurrent_index') sql = concurrentIndex()
    else if (kind === 'enum_add_value') sql = enumAddValue()
    else sql = plainDdl()
    let name = `${digits}_${kind === 'concurrent_index' ? 'add_concurrent_index' : `change_${index}`}`
    if (index === 0) name = '0_init'
    else if (kind === 'odd_name') name = `${odd % 2 === 0 ? digits : digits.slice(0, 8)}_${ODD_NAMES[odd++] as string}`
    // Counted by what was written (a kind with nothing to act on yet falls back to plain DDL).
    const written = /CONCURRENTLY/.test(sql) ? 'concurrent_index' : /^BEGIN;$/m.test(sql) ? 'own_transaction' : /generate_series/.test(sql) ? 'backfill' : /ADD VALUE/.test(sql) ? 'enum_add_value' : kind
    kinds[written] = (kinds[written] ?? 0) + 1
    names.push(name)
    await mkdir(path.join(folder, name))
    await writeFile(path.join(folder, name, 'migration.sql'), sql)
  }
  return { folder, names, kinds }
}
