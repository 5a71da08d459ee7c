/**
 * Credential hygiene for anything that crosses a boundary (responses, events, logs, human log).
 * Connection URLs lose their password (`postgres://app:***@db:5432/app`), and any secret value
 * registered with `registerSecret` (every configured database password) is replaced wherever it
 * appears, because drivers and tools quote passwords in ways no URL pattern catches.
 */

// The user may be empty (`redis://:secret@host`).
const URL_WITH_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):([^\s@/]*)@/gi
// `password=…`, `PGPASSWORD=…`, `DB_PASSWORD: …` and JSON's `"password":"…"`. An unquoted value runs to the
// next space (passwords may hold any punctuation); `***` is matched as itself so masking twice changes nothing.
const KEY_VALUE_PASSWORD = /\b(\w*(?:password|passwd)|pwd)("?\s*[=:]\s*)("[^"]*"|'[^']*'|\*\*\*(?![^\s,;&}"'])|\S+)/gi

const secrets = new Set<string>()

/** Remembers a secret (a password) so `maskSecrets` removes it from any text. */
export function registerSecret (secret: string | undefined): void {
  // Very short values would mask ordinary words; passwords that short are not worth hiding anyway.
  if (secret !== undefined && secret.length >= 4) secrets.add(secret)
}

/** Registers the password of a connection URL, if it has one. */
export function registerUrlSecret (url: string | undefined): void {
  if (url === undefined) return
  let password: string | undefined
  try {
    password = new URL(url).password
  } catch {
    // A host list (`postgres://u:secret@db1,db2/x`, as libpq takes it) is no WHATWG URL: read the user info.
    password = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:([^@/?#]*)@/i.exec(url)?.[1]
  }
  if (password !== undefined && password !== '') {
    registerSecret(password)
    try {
      registerSecret(decodeURIComponent(password))
    } catch {
      // Not percent-encoded properly: the raw text is what a driver would quote.
    }
  }
}

/** Returns `text` with credentials in URLs, `password=…` pairs and registered secrets replaced by `***`. */
export function maskSecrets (text: string): string {
  let masked = text.replace(URL_WITH_CREDENTIALS, '$1$2:***@').replace(KEY_VALUE_PASSWORD, '$1$2***')
  for (const secret of secrets) {
    if (masked.includes(secret)) masked = masked.split(secret).join('***')
  }
  return masked
}

/** The message of any thrown value, masked. */
export function safeErrorMessage (error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return maskSecrets(message)
}

/** `maskSecrets` applied to every string inside a JSON-like value (error details, event data). */
export function maskSecretsDeep<T> (value: T): T {
  if (typeof value === 'string') return maskSecrets(value) as T
  if (Array.isArray(value)) return value.map((item) => maskSecretsDeep(item)) as T
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskSecretsDeep(item)])) as T
  }
  return value
}
