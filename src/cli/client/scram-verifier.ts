import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677), made here so
 * that `CREATE ROLE … PASSWORD '<verifier>'` never carries the password itself to the server,
 * where statement logging could keep it (psql's `\password` does the same). The password must
 * be ASCII without control characters, so that SASLprep leaves it as it is.
 */
export function scramSha256Verifier (password: string, iterations = 4096, salt: Buffer = randomBytes(16)): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('the password must be printable ASCII')
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest()
  const serverKey = createHmac('sha256', salted).update('Server Key').digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}
