import t from 'tap'
import { maskSecrets, registerSecret, registerUrlSecret, safeErrorMessage } from '../../src/lib/mask-secrets.js'

// The registry of secrets is process-wide: every value registered here is unique to this file.

t.test('connection URLs lose their password and keep everything else', async (t) => {
  t.equal(maskSecrets('postgres://app:s3cr3t@db.internal:5432/app'), 'postgres://app:***@db.internal:5432/app')
  t.equal(maskSecrets('connect to postgresql://deployer:p%40ss%2Fword@10.0.0.5/prod?sslmode=require failed'), 'connect to postgresql://deployer:***@10.0.0.5/prod?sslmode=require failed')
  t.equal(maskSecrets('a=postgres://u1:one@h1/d b=mysql://u2:two@h2/d'), 'a=postgres://u1:***@h1/d b=mysql://u2:***@h2/d', 'every URL in the text')
  t.equal(maskSecrets('POSTGRES://App:Secret@DB/x'), 'POSTGRES://App:***@DB/x', 'scheme case does not matter')
  t.equal(maskSecrets('redis://:redispw-1@127.0.0.1:6379/0'), 'redis://:***@127.0.0.1:6379/0', 'a Redis URL with a password and no user')
})

t.test('URLs without a password and ordinary text are left alone', async (t) => {
  for (const text of [
    'postgres://app@db:5432/app',
    'postgres://db:5432/app',
    'https://ci.example/run/42',
    'migration 20250124140000_add_user_profiles applied in 1.2s',
    'Time: 12:30:45 at host db:5432',
    'CREATE TABLE "User" ("passwordHash" TEXT NOT NULL);',
    ''
  ]) {
    t.equal(maskSecrets(text), text, JSON.stringify(text))
  }
})

t.test('password=… pairs are masked in their usual spellings', async (t) => {
  t.equal(maskSecrets('host=db user=app password=kv-secret dbname=app'), 'host=db user=app password=*** dbname=app', 'libpq conninfo')
  t.equal(maskSecrets('Password: "with spaces"'), 'Password: ***')
  t.equal(maskSecrets("pwd='quoted'"), 'pwd=***')
  t.equal(maskSecrets('passwd = plain'), 'passwd = ***')
  t.equal(maskSecrets('PGPASSWORD=envsecret pg_dump -Fc'), 'PGPASSWORD=*** pg_dump -Fc', 'an environment assignment')
  t.equal(maskSecrets('DB_PASSWORD: yamlsecret'), 'DB_PASSWORD: ***')
  t.equal(maskSecrets('{"user":"app","password":"jsonsecret"}'), '{"user":"app","password":***}', 'a JSON member')
  t.equal(maskSecrets('password=a,b&c;d}e next'), 'password=*** next', 'an unquoted value is masked whole, punctuation included')
  t.equal(maskSecrets('password=***tail'), 'password=***', 'a password that starts with *** is still masked whole')
})

t.test('registered secrets are masked wherever they appear', async (t) => {
  registerSecret('Tr0ub4dor&3-mask-test')
  t.equal(maskSecrets('FATAL: password authentication failed (tried Tr0ub4dor&3-mask-test)'), 'FATAL: password authentication failed (tried ***)')
  t.equal(maskSecrets('Tr0ub4dor&3-mask-testTr0ub4dor&3-mask-test'), '******', 'every occurrence')
  registerSecret('abc')
  t.equal(maskSecrets('abc is the alphabet'), 'abc is the alphabet', 'values under 4 characters are not registered: they would mask ordinary words')
  registerSecret(undefined)
  registerSecret('')
  t.equal(maskSecrets('nothing to hide'), 'nothing to hide')
})

t.test('registerUrlSecret registers both the decoded and the encoded password', async (t) => {
  registerUrlSecret('postgres://app:p%40ss%3Aword-url-test@db:5432/app')
  t.equal(maskSecrets('server said: bad value p@ss:word-url-test'), 'server said: bad value ***', 'decoded')
  t.equal(maskSecrets('argv: p%40ss%3Aword-url-test'), 'argv: ***', 'encoded')
  registerUrlSecret('postgres://nopassword-user@db/app')
  t.equal(maskSecrets('nopassword-user connected'), 'nopassword-user connected', 'a user name is not a secret')
  registerUrlSecret('not a url at all')
  registerUrlSecret(undefined)
  t.equal(maskSecrets('not a url at all'), 'not a url at all')
})

t.test('masking is idempotent and safeErrorMessage masks any thrown value', async (t) => {
  for (const text of ['postgres://app:idem-secret@db/app password=idem2', '{"password":"idem3"}', 'password=idem4;']) {
    t.equal(maskSecrets(maskSecrets(text)), maskSecrets(text), `idempotent on ${text}`)
  }
  t.equal(safeErrorMessage(new Error('connect ECONNREFUSED postgres://app:err-secret@db/app')), 'connect ECONNREFUSED postgres://app:***@db/app')
  t.equal(safeErrorMessage('password=thrown-string'), 'password=***')
  registerSecret('registered-in-error')
  t.equal(safeErrorMessage(new TypeError('bad registered-in-error')), 'bad ***')
  t.equal(safeErrorMessage(42), '42')
  t.equal(safeErrorMessage({ toString: () => 'postgres://a:obj-secret@h/d' }), 'postgres://a:***@h/d')
})
