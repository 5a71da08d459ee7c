import t from 'tap'
import { OneInFlight } from '../../src/lib/one-in-flight.js'

t.test('writes land in order, one at a time, while the caller goes on', async (t) => {
  const queue = new OneInFlight()
  const events: string[] = []
  let inFlight = 0
  let most = 0
  const write = (name: string) => async (): Promise<void> => {
    inFlight++
    most = Math.max(most, inFlight)
    events.push(`start ${name}`)
    await new Promise((resolve) => setImmediate(resolve))
    events.push(`end ${name}`)
    inFlight--
  }
  for (const name of ['1', '2', '3']) {
    await queue.push(write(name))
    events.push(`caller after ${name}`)
  }
  await queue.drain()
  t.equal(most, 1, 'never two writes at once')
  t.same(events, ['start 1', 'caller after 1', 'end 1', 'start 2', 'caller after 2', 'end 2', 'start 3', 'caller after 3', 'end 3'])
})

t.test('a failed write stops the caller at its next push, or at drain', async (t) => {
  const queue = new OneInFlight()
  await queue.push(async () => { throw new Error('control database unreachable') })
  await t.rejects(queue.push(async () => {}), /control database unreachable/, 'the next push reports it')

  const other = new OneInFlight()
  await other.push(async () => { throw new Error('last write failed') })
  await t.rejects(other.drain(), /last write failed/, 'drain reports the last one')
})
