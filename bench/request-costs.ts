// What two per-request speed-ups of the API save, in CPU time per request (issue 18 item 5).
//
//   npx tsx bench/request-costs.ts [iterations per round, default 100000]
//
// Each pair is measured in this process (user + system CPU, so other load on the machine counts
// little), alternating, median of 7 rounds:
// - the token check: what a request with a static token pays without the per-connection memory
//   (SHA-256 of the token, constant-time comparison with each of ten configured hashes) against
//   what the memory made it pay (a WeakMap lookup and one constant-time comparison);
// - the request logger: Fastify's child logger made for every request (pino `child` with the
//   request id) against a lazy one made only when the request logs a line (one small object).
// Needs no database or Redis. Set beside a poll's whole CPU cost (bench/README.md, polling).
import { createHash, timingSafeEqual } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import pino from 'pino'

const ITERATIONS = Number(process.argv[2] ?? 100_000)
const ROUNDS = 7

function cpuMicros (): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

/** CPU µs per call of `body`, over ITERATIONS calls. */
function measure (body: (i: number) => unknown): number {
  let sink = 0
  const start = cpuMicros()
  for (let i = 0; i < ITERATIONS; i++) if (body(i) !== undefined) sink++
  const spent = cpuMicros() - start
  if (sink < 0) console.log(sink)
  return spent / ITERATIONS
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest()
const configured = Array.from({ length: 10 }, (_, i) => sha256(`static-token-${i}`))
const token = 'static-token-7'
const presented = Buffer.from(token, 'utf8')
const connections = Array.from({ length: 100 }, () => ({}))
const proven = new WeakMap<object, { token: Buffer }>()
for (const connection of connections) proven.set(connection, { token: Buffer.from(token, 'utf8') })

const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }))
class Lazy {
  made: pino.Logger | undefined
  constructor (readonly parent: pino.Logger, readonly bindings: pino.Bindings) {}
}

const cases: Record<string, (i: number) => unknown> = {
  'token: full check (sha256 + 10 compares)': () => {
    const hash = sha256(token)
    let found = -1
    for (let k = 0; k < configured.length; k++) if (timingSafeEqual(hash, configured[k] as Buffer)) found = k
    return found
  },
  'token: per-connection memory (lookup + 1 compare)': (i) => {
    const entry = proven.get(connections[i % connections.length] as object)
    const bytes = Buffer.from(token, 'utf8')
    return entry !== undefined && entry.token.length === bytes.length && timingSafeEqual(entry.token, bytes) ? 1 : 0
  },
  'logger: pino child per request': (i) => logger.child({ reqId: `req-${i}` }),
  'logger: lazy (made only when a line is logged)': (i) => new Lazy(logger, { reqId: `req-${i}` })
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]))
for (const body of Object.values(cases)) measure(body)
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, body] of Object.entries(cases)) samples[name]?.push(measure(body))
}
void presented

console.log(`${ITERATIONS} calls × ${ROUNDS} rounds; ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
console.log('| case | CPU µs per request (median) |\n|---|---:|')
for (const [name, values] of Object.entries(samples)) console.log(`| ${name} | ${median(values).toFixed(2)} |`)
