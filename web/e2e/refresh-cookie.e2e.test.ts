/**
 * Issue 11.10: the web client keeps no refresh token where page scripts can read it. The server's
 * HttpOnly `chat_refresh` cookie carries the session across reloads; logout ends it and clears it.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitFor } from '@chat/testkit';
import { E2eOrigin, launch, newUser, register } from './browser';

jest.setTimeout(180_000);

describe('the refresh token in the web client', () => {
  const target = new E2eOrigin();
  let origin = '';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const run = Date.now().toString(36).slice(-6);

  beforeAll(async () => {
    origin = await target.start();
    browser = await launch();
    ({ context, page } = await newUser(browser, origin));
  });
  afterAll(async () => {
    await browser?.close();
    await target.stop();
  });

  const refreshCookie = async () => (await context.cookies()).find((c) => c.name === 'chat_refresh');
  /** Everything page scripts can read: localStorage (keys and values) and document.cookie. */
  const readable = () =>
    page.evaluate(() => ({
      storage: Object.entries(localStorage)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
      cookie: document.cookie,
    }));

  test('lives only in an HttpOnly cookie, keeps the session across reloads, and goes at logout', async () => {
    await register(page, `rc_${run}`, 'correct horse battery', `Cookie ${run}`);

    const first = await refreshCookie();
    expect(first).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth' });
    const seen = await readable();
    expect(seen.storage).not.toContain(first!.value);
    expect(seen.storage).not.toMatch(/refresh/i);
    expect(seen.cookie).not.toContain('chat_refresh');
    expect(seen.cookie).not.toContain(first!.value);

    // A reload signs in again from the cookie (which rotates), twice in a row.
    for (let i = 0; i < 2; i++) {
      const before = (await refreshCookie())!.value;
      await page.reload();
      await page.getByTestId('me-name').waitFor();
      expect(page.url()).toMatch(/\/chat$/);
      const after = (await refreshCookie())!.value;
      expect(after).not.toBe(before);
      expect((await readable()).storage).not.toContain(after);
    }

    // Logout revokes the session and clears the cookie: a reload lands on the login page.
    await page.getByTestId('logout').click();
    await page.waitForURL('**/login');
    // The page may reach /login before the logout request's answer (which clears the cookie) arrives.
    await waitFor(async () => (await refreshCookie()) === undefined, 10_000, 'the refresh cookie cleared');
    await page.goto('/chat');
    await page.waitForURL('**/login');
  });
});
