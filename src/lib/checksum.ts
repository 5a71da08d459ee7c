import { createHash } from 'node:crypto'

/** Lowercase sha256 hex of the exact bytes (what Prisma stores in `_prisma_migrations.checksum`). */
export function sha256Hex (data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}
