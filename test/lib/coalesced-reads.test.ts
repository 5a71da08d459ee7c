import t from 'tap'
import { CoalescedReads } from '../../src/lib/coalesced-reads.js'

/** A read whose every call waits until the test settles it, numbered in call order. */
function controlledReads (): {
  reads: CoalescedReads<string, string>
  started: Array<{ key: string; resolve: (value: string) => void; reject: (error: Error) => void }>
} {
  const started: Array<{ key: string; resolve: (value: string) => void; reject: (error: Error) => void }> = []
  const reads = new CoalescedReads<string, string>(
    async (key) =>
      await new Promise<string>((resolve, reject) => {
        started.push({ key, resolve, reject })
      })
  )
  return { reads, started }
}

const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

t.test('a caller that arrives while a read runs gets the next read, never the running one', async (t) => {
  const { reads, started } = controlledReads()
  const first = reads.get('a')
  await tick()
  t.equal(started.length, 1, 'the first caller starts a read')
  const second = reads.get('a')
  const third = reads.get('a')
  await tick()
  t.equal(started.length, 1, 'callers arriving meanwhile do not start reads of their own')
  started[0]?.resolve('value read before the second caller came')
  t.equal(await first, 'value read before the second caller came')
  await tick()
  t.equal(started.length, 2, 'the queued read starts once the running one ended')
  started[1]?.resolve('value read after they came')
  t.equal(await second, 'value read after they came')
  t.equal(await third, 'value read after they came', 'everyone who waited shares it')
  const fourth = reads.get('a')
  await tick()
  t.equal(started.length, 3, 'with nothing running, a new caller starts a read at once')
  started[2]?.resolve('later')
  t.equal(await fourth, 'later')
})

t.test('a failed read fails only its callers; the queued read still runs', async (t) => {
  const { reads, started } = controlledReads()
  const first = reads.get('a')
  await tick()
  const second = reads.get('a')
  started[0]?.reject(new Error('database went away'))
  await t.rejects(first, /database went away/)
  await tick()
  started[1]?.resolve('back')
  t.equal(await second, 'back')
})

t.test('keys are independent', async (t) => {
  const { reads, started } = controlledReads()
  const a = reads.get('a')
  const b = reads.get('b')
  await tick()
  t.same(started.map((read) => read.key), ['a', 'b'])
  started[1]?.resolve('B')
  started[0]?.resolve('A')
  t.same(await Promise.all([a, b]), ['A', 'B'])
})
