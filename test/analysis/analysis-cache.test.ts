import t from 'tap'
import { analyzeMigrationSql, analyzeMigrationSqlCached, clearAnalysisCache } from '../../src/analysis/index.js'

const FILES = [
  'CREATE TABLE "User" (id serial PRIMARY KEY);\n-- CreateIndex\nCREATE INDEX "User_id_idx" ON "User"(id);',
  'CREATE INDEX CONCURRENTLY "a_idx" ON "a"(b);',
  'SELEC 1;',
  ''
]

t.test('a cached analysis is exactly what a parse gives, and the second call does not parse again', async (t) => {
  clearAnalysisCache()
  for (const sql of FILES) {
    const first = await analyzeMigrationSqlCached(sql)
    t.same(first, await analyzeMigrationSql(sql), JSON.stringify(sql))
    t.equal(await analyzeMigrationSqlCached(sql), first, 'the same analysis, from the cache')
  }
  clearAnalysisCache()
  t.not(await analyzeMigrationSqlCached(FILES[0] as string), await analyzeMigrationSqlCached(FILES[1] as string))
  const again = await analyzeMigrationSqlCached(FILES[0] as string)
  clearAnalysisCache()
  t.not(await analyzeMigrationSqlCached(FILES[0] as string), again, 'after clearing, parsed anew')
})
