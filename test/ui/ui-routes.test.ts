import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { UI_CONTENT_SECURITY_POLICY, UI_DIR } from '../../src/api/routes/ui.js'
import { startHarness } from '../helpers/harness.js'

const h = await startHarness({ worker: false })
t.teardown(h.close)

t.test('GET /ui serves the page without a token, with a strict Content-Security-Policy', async (t) => {
  for (const url of ['/ui', '/ui/']) {
    const page = await h.request('GET', url, { as: null })
    t.equal(page.statusCode, 200, url)
    t.match(page.headers['content-type'], /^text\/html; charset=utf-8/)
    t.equal(page.headers['content-security-policy'], "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
    t.equal(page.headers['x-content-type-options'], 'nosniff')
    t.equal(page.headers['x-frame-options'], 'DENY')
    t.equal(page.headers['referrer-policy'], 'no-referrer')
    t.match(page.body, /<label for="token">Token<\/label>/)
  }
})

t.test('assets have their content types; anything else is a 404', async (t) => {
  const js = await h.request('GET', '/ui/app.js', { as: null })
  t.equal(js.statusCode, 200)
  t.match(js.headers['content-type'], /^text\/javascript/)
  t.equal(js.headers['content-security-policy'], UI_CONTENT_SECURITY_POLICY)
  const css = await h.request('GET', '/ui/app.css', { as: null })
  t.equal(css.statusCode, 200)
  t.match(css.headers['content-type'], /^text\/css/)
  for (const url of ['/ui/nope.js', '/ui/tsconfig.json', '/ui/..%2Fpackage.json', '/ui/%2E%2E%2Fsrc%2Fapp.ts', '/ui/index.html']) {
    const response = await h.request('GET', url, { as: null })
    t.equal(response.statusCode, 404, url)
    t.equal(response.json().error.code, 'NOT_FOUND', url)
  }
})

t.test('an unchanged asset is a 304 for a browser that has it', async (t) => {
  const first = await h.request('GET', '/ui/app.js', { as: null })
  const etag = first.headers.etag as string
  t.match(etag, /^"[A-Za-z0-9_-]+"$/)
  const again = await h.request('GET', '/ui/app.js', { as: null, headers: { 'if-none-match': etag } })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '')
})

t.test('the page has nothing inline, loads nothing from elsewhere, and never builds HTML from strings', async (t) => {
  const files = readdirSync(UI_DIR)
  const html = readFileSync(path.join(UI_DIR, 'index.html'), 'utf8')
  t.notMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'every script has a src')
  t.notMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler')
  for (const name of files.filter((f) => /\.(html|css|js)$/.test(f))) {
    const text = readFileSync(path.join(UI_DIR, name), 'utf8')
    t.notMatch(text, /(?:src|href)=["']?(?:https?:)?\/\/|@import|url\(\s*["']?(?:https?:)?\/\//i, `${name} loads nothing from another origin`)
    if (name.endsWith('.js')) {
      t.notMatch(text, /\.(?:innerHTML|outerHTML)\b|\.insertAdjacentHTML\(|document\.write|\beval\(|new Function\(/, `${name} builds no markup from strings`)
      t.notMatch(text, /localStorage/, `${name} keeps the token in sessionStorage only`)
    }
  }
})
