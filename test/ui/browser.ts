import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core'

/** Debian's Chromium (`apt-get install -y chromium`); playwright-core downloads no browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface TestBrowser {
  context: BrowserContext
  close: () => Promise<void>
}

/** Launches Chromium with a fresh profile of its own (removed on close). */
export async function launchBrowser (): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'md-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 }
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

/** What a page did that a test may want to assert never happened. */
export interface PageRecord {
  page: Page
  requests: Request[]
  dialogs: string[]
  consoleErrors: string[]
}

/**
 * Opens the review page in a new tab (its own sessionStorage) and signs in by typing the token
 * into the field labelled "Token" and pressing Enter, as a person would.
 */
export async function openSignedIn (
  context: BrowserContext,
  baseUrl: string,
  token: string,
  options: { width?: number; height?: number } = {}
): Promise<PageRecord> {
  const page = await context.newPage()
  if (options.width !== undefined) await page.setViewportSize({ width: options.width, height: options.height ?? 800 })
  const record: PageRecord = { page, requests: [], dialogs: [], consoleErrors: [] }
  page.on('request', (request) => record.requests.push(request))
  page.on('dialog', (dialog) => {
    record.dialogs.push(`${dialog.type()}: ${dialog.message()}`)
    void dialog.dismiss()
  })
  page.on('console', (message) => {
    if (message.type() === 'error') record.consoleErrors.push(message.text())
  })
  page.on('pageerror', (error) => record.consoleErrors.push(`pageerror: ${error.message}`))
  await page.goto(`${baseUrl}/ui`)
  await page.getByLabel('Token').fill(token)
  await page.getByLabel('Token').press('Enter')
  await page.getByText(/^Signed in as /).waitFor()
  return record
}
