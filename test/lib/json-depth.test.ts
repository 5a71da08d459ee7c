import t from 'tap'
import { jsonNestsDeeperThan } from '../../src/lib/json-depth.js'

t.test('jsonNestsDeeperThan: arrays and objects count, brackets in strings do not', async (t) => {
  t.equal(jsonNestsDeeperThan('{"a": [1, {"b": []}]}', 4), false, 'exactly 4 levels')
  t.equal(jsonNestsDeeperThan('{"a": [1, {"b": []}]}', 3), true)
  t.equal(jsonNestsDeeperThan('[[[]]]', 3), false)
  t.equal(jsonNestsDeeperThan('[[[[]]]]', 3), true)
  t.equal(jsonNestsDeeperThan(JSON.stringify({ sql: '[[[[{{{{'.repeat(1000) }), 2), false, 'brackets inside a string')
  t.equal(jsonNestsDeeperThan(JSON.stringify({ sql: 'a \\" [[[[ \\\\' }), 1), false, 'escaped quotes and backslashes inside a string')
  t.equal(jsonNestsDeeperThan(`{"a": "\\\\", "b": [[[[]]]]}`, 3), true, 'a string ending in a backslash ends there')
  t.equal(jsonNestsDeeperThan('"unterminated [[[[', 1), false)
  t.equal(jsonNestsDeeperThan('', 1), false)
  t.equal(jsonNestsDeeperThan(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`, 32), true, 'a million levels')
})
