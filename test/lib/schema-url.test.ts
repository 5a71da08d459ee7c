import t from 'tap'
import { TargetUrlError } from '../../src/errors/index.js'
import { backupScopeOf, parseSchemaUrl, quoteIdentifier, searchPathOf } from '../../src/lib/schema-url.js'

// Unit tests of src/lib/schema-url.ts: the URL → {connection URL, schema} rules, read as Prisma's
// quaint reads them (form-decoded query pairs, last `schema` wins, default public).

const BASE = 'postgresql://app:s3cr%40t@db.example:5432/app'

t.test('without a schema parameter: public, nothing set, the URL untouched byte for byte', async (t) => {
  for (const url of [BASE, `${BASE}?sslmode=require&connection_limit=5`, 'postgres:///app?host=/var/run/postgresql', 'not a url at all']) {
    const parsed = parseSchemaUrl(url)
    t.same(parsed, { connectionUrl: url, schema: 'public', named: false }, url)
    t.equal(searchPathOf(parsed), null, 'the server\'s search path is left alone')
    t.equal(backupScopeOf(parsed), null, 'backups cover the whole database')
  }
})

t.test('the schema parameter is split off; every other byte of the URL is kept', async (t) => {
  t.same(parseSchemaUrl(`${BASE}?schema=billing`), { connectionUrl: BASE, schema: 'billing', named: true })
  t.same(parseSchemaUrl(`${BASE}?sslmode=require&schema=billing&connect_timeout=10`),
    { connectionUrl: `${BASE}?sslmode=require&connect_timeout=10`, schema: 'billing', named: true })
  t.equal(parseSchemaUrl(`${BASE}?schema=billing&options=-c%20x%3Dy#frag`).connectionUrl, `${BASE}?options=-c%20x%3Dy#frag`, 'encoding and fragment kept')
  t.equal(parseSchemaUrl(`${BASE}?a=1&&schema=x&b`).connectionUrl, `${BASE}?a=1&&b`, 'odd pairs are passed through as written')
})

t.test('decoding as Prisma does: percent and plus decoded, key decoded too, last one wins, case-sensitive key', async (t) => {
  t.equal(parseSchemaUrl(`${BASE}?schema=Billing%20Ops-2`).schema, 'Billing Ops-2')
  t.equal(parseSchemaUrl(`${BASE}?schema=Billing+Ops`).schema, 'Billing Ops', '+ is a space (form encoding)')
  t.equal(parseSchemaUrl(`${BASE}?schema=%C3%A9t%C3%A9`).schema, 'été')
  t.equal(parseSchemaUrl(`${BASE}?sch%65ma=tenant`).schema, 'tenant', 'the key is decoded before it is compared')
  const twice = parseSchemaUrl(`${BASE}?schema=first&sslmode=disable&schema=second`)
  t.same(twice, { connectionUrl: `${BASE}?sslmode=disable`, schema: 'second', named: true }, 'the last occurrence wins, every one is removed')
  t.same(parseSchemaUrl(`${BASE}?Schema=billing`), { connectionUrl: `${BASE}?Schema=billing`, schema: 'public', named: false }, '`Schema` is not `schema`')
  t.equal(parseSchemaUrl(`${BASE}?schema=public`).named, true, 'an explicit public is still named: the search path is set to it')
})

t.test('the search path and the identifier are quoted, case and punctuation kept', async (t) => {
  t.equal(searchPathOf(parseSchemaUrl(`${BASE}?schema=Billing%20Ops-2`)), '"Billing Ops-2"')
  t.equal(searchPathOf(parseSchemaUrl(`${BASE}?schema=public`)), '"public"')
  t.equal(quoteIdentifier('a.b'), '"a.b"')
  t.equal(quoteIdentifier('say "hi"'), '"say ""hi"""')
})

t.test('backups are limited to a named schema other than public', async (t) => {
  t.equal(backupScopeOf(parseSchemaUrl(`${BASE}?schema=tenant_42`)), 'tenant_42')
  t.equal(backupScopeOf(parseSchemaUrl(`${BASE}?schema=public`)), null, 'public keeps the whole-database backup')
})

t.test('names Prisma cannot use are refused with a TargetUrlError that names the fix and never the URL', async (t) => {
  const cases: Array<[string, RegExp]> = [
    [`${BASE}?schema=`, /empty schema parameter/],
    [`${BASE}?schema`, /empty schema parameter/],
    [`${BASE}?schema=a%22b`, /double quote or a NUL/],
    [`${BASE}?schema=a%00b`, /double quote or a NUL/],
    [`${BASE}?schema=${'x'.repeat(64)}`, /longer than PostgreSQL's 63 bytes/],
    [`${BASE}?schema=${'é'.repeat(32)}`, /longer than PostgreSQL's 63 bytes/]
  ]
  for (const [url, message] of cases) {
    const error = (() => { try { parseSchemaUrl(url); return undefined } catch (e) { return e } })()
    t.ok(error instanceof TargetUrlError, url)
    t.equal((error as TargetUrlError).code, 'TARGET_URL_INVALID')
    t.equal((error as TargetUrlError).statusCode, 500)
    t.match((error as Error).message, message)
    t.match((error as Error).message, /database_url_env/)
    t.notMatch((error as Error).message, /s3cr|app:|db\.example/, 'no credential, host or URL in the message')
  }
  t.equal(parseSchemaUrl(`${BASE}?schema=${'x'.repeat(63)}`).schema.length, 63, '63 bytes is allowed')
})
