import type * as LibPgQuery from 'libpg-query'

let loading: Promise<typeof LibPgQuery> | undefined
let loaded: typeof LibPgQuery | undefined

/**
 * The PostgreSQL parser (libpg-query), loaded on first use. Importing it instantiates its
 * WebAssembly module (memory an API process, which never parses SQL, need not carry).
 */
export async function loadPgParser (): Promise<typeof LibPgQuery> {
  loading ??= (async () => {
    const parser = await import('libpg-query')
    await parser.loadModule()
    loaded = parser
    return parser
  })()
  return await loading
}

/** The parser `loadPgParser` loaded; for synchronous code that runs after it. */
export function loadedPgParser (): typeof LibPgQuery {
  if (loaded === undefined) throw new Error('the PostgreSQL parser is not loaded yet: await loadPgParser() first')
  return loaded
}
