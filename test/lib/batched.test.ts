import t from 'tap'
import { batched } from '../../src/lib/batched.js'

/** A batch function whose every run waits until the test settles it; runs recorded in call order. */
function controlledRuns (): {
  runs: Array<{ inputs: readonly number[]; settle: () => void; fail: (error: Error) => void }>
  run: (inputs: readonly number[]) => Promise<readonly string[]>
} {
  const runs: Array<{ inputs: readonly number[]; settle: () => void; fail: (error: Error) => void }> = []
  const run = async (inputs: readonly number[]): Promise<readonly string[]> =>
    await new Promise((resolve, reject) => {
      runs.push({
        inputs: [...inputs],
        settle: () => {
          resolve(inputs.map((n) => `result of ${n}`))
        },
        fail: reject
      })
    })
  return { runs, run }
}

const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

t.test('a lone call runs at once; calls made while every run is busy go together in the next one', async (t) => {
  const { runs, run } = controlledRuns()
  const call = batched(run, { maxBatchSize: 10, maxInFlight: 2 })
  const first = call(1)
  t.same(runs.map((r) => r.inputs), [[1]], 'the first call started a run before anything was awaited (no timer)')
  const second = call(2)
  t.same(runs.map((r) => r.inputs), [[1], [2]], 'a second run starts while fewer than maxInFlight are busy')
  const queued = [call(3), call(4), call(5)]
  await tick()
  t.equal(runs.length, 2, 'with both runs busy, later calls wait')
  runs[1]?.settle()
  t.equal(await second, 'result of 2')
  await tick()
  t.same(runs.map((r) => r.inputs), [[1], [2], [3, 4, 5]], 'the calls that waited go together as soon as a run ends')
  runs[2]?.settle()
  runs[0]?.settle()
  t.same(await Promise.all([first, ...queued]), ['result of 1', 'result of 3', 'result of 4', 'result of 5'], 'each call gets its own result')
})

t.test('a run takes at most maxBatchSize calls', async (t) => {
  const { runs, run } = controlledRuns()
  const call = batched(run, { maxBatchSize: 2, maxInFlight: 1 })
  const calls = [call(1), call(2), call(3), call(4), call(5)]
  runs[0]?.settle()
  await tick()
  runs[1]?.settle()
  await tick()
  runs[2]?.settle()
  t.same(await Promise.all(calls), [1, 2, 3, 4, 5].map((n) => `result of ${n}`))
  t.same(runs.map((r) => r.inputs), [[1], [2, 3], [4, 5]])
})

t.test('when a run of several fails, each input runs again alone: only the bad one fails, with its own error', async (t) => {
  const seen: Array<readonly number[]> = []
  const call = batched(async (inputs: readonly number[]) => {
    seen.push(inputs)
    await new Promise((resolve) => setImmediate(resolve))
    const bad = inputs.find((n) => n < 0)
    if (bad !== undefined) throw new Error(`input ${bad} is negative`)
    return inputs.map((n) => n * 10)
  }, { maxBatchSize: 10, maxInFlight: 1 })
  const first = call(1)
  const rest = [call(2), call(-3), call(4)]
  t.equal(await first, 10)
  const settled = await Promise.allSettled(rest)
  t.same(settled.map((s) => s.status === 'fulfilled' ? s.value : (s.reason as Error).message), [20, 'input -3 is negative', 40])
  t.same(seen, [[1], [2, -3, 4], [2], [-3], [4]], 'the failed run of three was retried one by one')
})

t.test('a lone call that fails rejects with the error of its run, once', async (t) => {
  let runs = 0
  const call = batched(async (_inputs: readonly number[]): Promise<number[]> => { runs++; throw new Error('database unreachable') }, { maxBatchSize: 10, maxInFlight: 1 })
  await t.rejects(call(1), { message: 'database unreachable' })
  t.equal(runs, 1)
})
