import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { Stack } from '../../test/system/stack';

/** Debian's Chromium: CI installs it with apt; nothing is downloaded. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(__dirname, '../test-results/screenshots');

/** What the browser reported the origin's Content-Security-Policy refusing; a suite expects none. */
export const cspViolations: string[] = [];

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function newUser(
  browser: Browser,
  origin: string,
  viewport = { width: 1100, height: 760 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: origin, viewport });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (/Content[- ]Security[- ]Policy/i.test(msg.text())) cspViolations.push(`${page.url()}: ${msg.text()}`);
  });
  page.setDefaultTimeout(15_000);
  return { context, page };
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** Waits until some element of the locator contains the text. */
export async function seeText(locator: Locator, text: string | RegExp): Promise<Locator> {
  const hit = locator.filter({ hasText: text }).first();
  await hit.waitFor({ state: 'visible' });
  return hit;
}

export async function register(page: Page, username: string, password: string, displayName: string): Promise<void> {
  await page.goto('/register');
  await page.getByTestId('auth-username').fill(username);
  await page.getByTestId('auth-display-name').fill(displayName);
  await page.getByTestId('auth-password').fill(password);
  await page.getByTestId('auth-submit').click();
  await page.waitForURL('**/chat');
  await page.getByTestId('me-name').waitFor();
}

/**
 * Records what a page logs (console, uncaught errors, failed requests) so that a step that times out
 * can say what the page was doing: `explain(step)` rethrows the step's error with the page's URL, its
 * visible text and the last lines it logged (CI cannot be watched; this is what it leaves).
 */
export function recordPage(page: Page): { explain: <T>(step: Promise<T>) => Promise<T> } {
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(`${new Date().toISOString()} ${line}`);
    if (lines.length > 60) lines.shift();
  };
  page.on('console', (m) => keep(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => keep(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => keep(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) keep(`response ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return {
    explain: async (step) => {
      try {
        return await step;
      } catch (err) {
        const text = await page.innerText('body', { timeout: 2_000 }).catch((e: Error) => `(no text: ${e.message})`);
        throw new Error(
          `${(err as Error).message}\n--- page ${page.url()} shows:\n${text.slice(0, 3_000)}\n--- it logged:\n${lines.join('\n')}`,
          { cause: err },
        );
      }
    },
  };
}

export async function openConversation(page: Page, title: string): Promise<void> {
  const item = await seeText(page.getByTestId('conversation-item'), title);
  // Wait for this conversation's own address: a page already in another conversation matches '**/chat/*'
  // before the click has navigated (CI: the encrypted suite took the room's URL for the direct chat's).
  const href = await item.getAttribute('href');
  await item.click();
  await page.waitForURL(href ? `**${href}` : '**/chat/*');
  await page.getByTestId('composer').waitFor();
}

/** The offline outbox's raw records, as IndexedDB holds them. */
export function storedOutbox(page: Page): Promise<Array<Record<string, unknown>>> {
  return page.evaluate(
    () =>
      new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
        const r = indexedDB.open('chat-offline');
        // Not there yet: never create it (the page's own open would then find version 1 without its store).
        r.onupgradeneeded = () => r.transaction?.abort();
        r.onerror = () => reject(r.error ?? new Error('IndexedDB'));
        r.onsuccess = () => {
          if (!r.result.objectStoreNames.contains('outbox')) {
            r.result.close();
            return resolve([]);
          }
          const all = r.result.transaction('outbox').objectStore('outbox').getAll();
          all.onerror = () => reject(all.error ?? new Error('IndexedDB'));
          all.onsuccess = () => {
            r.result.close();
            // Byte arrays as text, so a check on the result also covers bytes that happen to be UTF-8.
            resolve(JSON.parse(JSON.stringify(all.result, (_k, v) => (v instanceof ArrayBuffer ? 'bytes' : v))));
          };
        };
      }),
  );
}

export async function send(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
}

/**
 * The public origin a browser suite runs against: the running stack CHAT_E2E_ORIGIN names, or a stack
 * of real processes started here (the gateway serving web/build). `stop` stops only what `start` started,
 * a start that failed half-way included.
 */
export class E2eOrigin {
  origin = process.env.CHAT_E2E_ORIGIN ?? '';
  private stack: Stack | undefined;

  async start(): Promise<string> {
    if (!this.origin) {
      this.stack = new Stack();
      await this.stack.start();
      this.origin = this.stack.origin();
    }
    return this.origin;
  }

  async stop(): Promise<void> {
    await this.stack?.stop();
  }
}
