import t from 'tap'
import { decodeTime, isValid } from 'ulid'
import { newUlid } from '../../src/lib/ulid-id.js'

t.test('ids are valid ULIDs of now, all different, with every character used', async (t) => {
  const before = Date.now()
  const ids = Array.from({ length: 20_000 }, () => newUlid())
  const after = Date.now()
  t.ok(ids.every((id) => isValid(id) && id.length === 26), 'valid ULIDs')
  t.ok(ids.every((id) => decodeTime(id) >= before && decodeTime(id) <= after), 'their time is the time they were made')
  t.equal(new Set(ids).size, ids.length, 'no two alike')
  // 20,000 ids × 16 random characters: each of Crockford's 32 characters shows up in every position.
  for (let position = 10; position < 26; position++) {
    t.equal(new Set(ids.map((id) => id[position])).size, 32, `position ${position} uses all 32 characters`)
  }
})
