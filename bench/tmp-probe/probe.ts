import { createRequire } from "node:module"; const require = createRequire(import.meta.url)
import { readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { createBenchEnv } from '../lib/bench-env.js'
import { freePort, startApi, startWorker } from '../lib/processes.js'
import { postDeployment, waitForTerminal, assertSucceeded } from '../lib/api-client.js'
import { connect } from '../lib/databases.js'
import { runLoad } from '../lib/load.js'

async function threadCpu (pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(`${tid}:${name}`, (Number(f[11]) + Number(f[12])) * 10)
    } catch {}
  }
  return out
}
async function allCpu (): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * 10)
    } catch {}
  }
  return out
}
const diff = (a: Map<string, number>, b: Map<string, number>): string => [...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).filter(([, v]) => v > 50).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k}=${v}`).join(' ')

const env = await createBenchEnv()
const port = await freePort()
const api = await startApi(env.serviceEnv, port, path.join(env.tmp, 'api.log'), (process.env.API_ARGS ?? '').split(' ').filter(Boolean))
const worker = await startWorker(env.serviceEnv, path.join(env.tmp, 'worker.log'))
const control = await connect(env.controlDb)
const url = `http://127.0.0.1:${port}`
const id = await postDeployment(url, env.tokens.deployer, { environment: 'dev', source: { ref: 'bench' } })
assertSucceeded(id, await waitForTerminal(control, id, { everyMs: 20, timeoutMs: 60000 }))
const headers = { authorization: `Bearer ${env.tokens.viewer}` }
console.log('idle rss', await api.rssMb(), require('fs').readFileSync('/proc/' + api.pid + '/environ', 'utf8').split('\0').filter((v: string) => v.startsWith('NODE_OPTIONS')))
await runLoad({ url: `${url}/deployments/${id}`, connections: 100, duration: 2, headers })
const stats = async (): Promise<Record<string, number>> => (await control.query('SELECT xact_commit::int AS commits, tup_inserted::int AS ins, tup_fetched::int AS fetched, tup_returned::int AS returned, tup_updated::int AS upd FROM pg_stat_database WHERE datname = current_database()')).rows[0]
const s0 = await stats()
const t0 = await threadCpu(api.pid); const a0 = await allCpu()
if (process.env.POST === '1') await worker.stop()
const run = process.env.POST === '1'
  ? await runLoad({ url: `${url}/deployments`, method: 'POST', connections: 100, duration: Number(process.env.SECS ?? 5), headers: { authorization: `Bearer ${env.tokens.deployer}`, 'content-type': 'application/json' }, body: JSON.stringify({ environment: 'dev', dry_run: true }) })
  : await runLoad({ url: `${url}/deployments/${id}`, connections: 100, duration: Number(process.env.SECS ?? 5), headers })
const t1 = await threadCpu(api.pid); const a1 = await allCpu()
await new Promise((r) => setTimeout(r, 600))
const s1 = await stats()
const n = run.total
console.log('per request:', Object.fromEntries(Object.keys(s1).map((k) => [k, ((s1[k] - s0[k]) / n).toFixed(2)])))
console.log('rps', Math.round(run.rps), 'p50', run.p50Ms, 'p99', run.p99Ms, 'rss', await api.rssMb())
console.log('api threads:', diff(t0, t1))
console.log('all processes:', diff(a0, a1))
console.log(require("fs").readFileSync(env.tmp + "/api.log", "utf8").split("\n").filter((l: string) => l.startsWith("fs ")).slice(-4).join("\n")); await control.end(); await api.stop(); if (process.env.POST !== '1') await worker.stop(); await env.cleanup()
