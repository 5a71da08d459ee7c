import pg from 'pg'
import t from 'tap'
import { findInvalidIndexes } from '../../src/analysis/invalid-indexes.js'
import { createEmptyDatabase, databaseUrl, dropDatabase } from '../helpers/databases.js'

const db = await createEmptyDatabase('md_invalid_idx')
const client = new pg.Client({ connectionString: databaseUrl(db) })
await client.connect()
t.teardown(async () => {
  await client.end()
  await dropDatabase(db)
})

t.test('a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index, and it is found', async (t) => {
  await client.query(`
    CREATE SCHEMA app;
    CREATE TABLE app."User" (id int PRIMARY KEY, email text);
    INSERT INTO app."User" VALUES (1, 'a@example.com'), (2, 'a@example.com'), (3, 'b@example.com');
    CREATE INDEX "User_email_idx" ON app."User" (email);`)
  t.same(await findInvalidIndexes(client), [], 'valid indexes (primary key, plain index) are not listed')

  await t.rejects(client.query('CREATE UNIQUE INDEX CONCURRENTLY "User_email_key" ON app."User" (email)'), { code: '23505' }, 'the duplicate emails make the build fail')
  t.same(await findInvalidIndexes(client), [{ schema: 'app', table: 'User', index: 'User_email_key' }])

  await t.rejects(client.query('CREATE UNIQUE INDEX CONCURRENTLY "User_email_key" ON app."User" (email)'), { code: '42P07' }, 'and it blocks re-running the migration')
  await client.query('DROP INDEX CONCURRENTLY app."User_email_key"')
  t.same(await findInvalidIndexes(client), [], 'gone once dropped')
})

t.test('several, in schema, table, index order; works on a pool client too', async (t) => {
  await client.query(`
    CREATE TABLE public.b (v int); INSERT INTO public.b VALUES (1), (1);
    CREATE TABLE public.a (v int); INSERT INTO public.a VALUES (1), (1);`)
  for (const sql of ['CREATE UNIQUE INDEX CONCURRENTLY b_v_key ON public.b (v)', 'CREATE UNIQUE INDEX CONCURRENTLY a_v_key2 ON public.a (v)', 'CREATE UNIQUE INDEX CONCURRENTLY a_v_key1 ON public.a (v)']) {
    await t.rejects(client.query(sql), { code: '23505' })
  }
  const pool = new pg.Pool({ connectionString: databaseUrl(db), max: 1 })
  t.teardown(async () => { await pool.end() })
  const pooled = await pool.connect()
  try {
    t.same(await findInvalidIndexes(pooled), [
      { schema: 'public', table: 'a', index: 'a_v_key1' },
      { schema: 'public', table: 'a', index: 'a_v_key2' },
      { schema: 'public', table: 'b', index: 'b_v_key' }
    ])
  } finally {
    pooled.release()
  }
})
