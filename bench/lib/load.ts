import autocannon from 'autocannon'

export interface LoadSummary {
  /** Mean requests per second over the run. */
  rps: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  total: number
  non2xx: number
  errors: number
  timeouts: number
  seconds: number
}

export interface LoadOptions {
  url: string
  connections: number
  /** Seconds to run, or… */
  duration?: number
  /** …a number of requests to send. */
  amount?: number
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Sees every response (status and body), e.g. to collect the ids of created deployments. */
  onResponse?: (status: number, body: string) => void
}

/** Runs autocannon (in this process: the servers under test run in their own processes). */
export async function runLoad (options: LoadOptions): Promise<LoadSummary> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.duration ?? 10 } : { amount: options.amount }),
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.onResponse === undefined ? {} : { requests: [{ onResponse: (status: number, body: string) => { options.onResponse?.(status, body) } }] })
  })
  return {
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration
  }
}
