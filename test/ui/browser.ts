import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { projectRoot } from '../../src/common/project-root';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir';
import { type StackApp, startStackApp } from '../stack/stack-fixture';
import { chromiumBinary, ensurePlaygroundBuilt } from '../stack/tools';

/** Screenshots of the test run (gitignored). */
export const SCREENSHOTS = join(projectRoot(), 'test-results', 'ui');

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot as test-results/ui/<name>.png and returns its path. */
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a new empty profile and no background traffic. */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  const profile = makeTempDir('ui-profile');
  mkdirSync(SCREENSHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    viewport: { width: 1200, height: 900 },
    colorScheme: 'light',
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async screenshot(name, p = page) {
      const file = join(SCREENSHOTS, `${name}.png`);
      await p.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      // A browser that does not close in time must not hold the test run open.
      await Promise.race([context.close(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      removeTempDir(profile);
    },
  };
}

/** Fails a test on any uncaught page error or CSP violation (they would be silent otherwise). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text()))
      errors.push(`console: ${m.text()}`);
  });
  return errors;
}

export interface BrowserSession {
  stack: StackApp;
  base: string;
  browser: Browser;
  page: Page;
  pageErrors: string[];
}

/** The built playground served by a real app, and Chromium with page errors collected. */
export async function startBrowserSession(): Promise<BrowserSession> {
  ensurePlaygroundBuilt();
  const stack = await startStackApp();
  const browser = await launchBrowser(chromiumBinary()!);
  return { stack, base: stack.app.baseUrl, browser, page: browser.page, pageErrors: collectPageErrors(browser.page) };
}

export async function closeBrowserSession(s: Partial<BrowserSession>): Promise<void> {
  await s.browser?.close();
  await s.stack?.close();
}
