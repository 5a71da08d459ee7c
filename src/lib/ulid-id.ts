import { randomFillSync } from 'node:crypto'
import { ulid } from 'ulid'

// ulid's own generator asks WebCrypto for one byte per character, sixteen times per id; drawing
// from a pooled buffer of the same cryptographic randomness makes an id several times cheaper.
const pool = Buffer.alloc(4096)
let offset = pool.length

/** A uniform draw in [0, 1) in steps of 1/256: ulid picks one of 32 characters per draw, so every character stays uniform. */
function pooledRandom (): number {
  if (offset >= pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  return (pool[offset++] as number) / 256
}

/** A new ULID (time-ordered, 80 random bits), as `ulid()` makes, from pooled crypto randomness. */
export function newUlid (): string {
  return ulid(undefined, pooledRandom)
}
