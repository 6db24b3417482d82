/**
 * The product end to end in a real Chromium against the real stack: the four services as real
 * processes (the gateway serving web/build), or a running stack when CHAT_E2E_ORIGIN names its public
 * origin. Two users become friends and chat, a third joins a room; screenshots of the main screens go to
 * web/test-results/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { E2eOrigin, cspViolations, launch, newUser, openConversation, register, seeText, send, shot } from './browser';

jest.setTimeout(180_000);

{
  describe('web client against the stack', () => {
    const target = new E2eOrigin();
    let origin = '';
    let browser: Browser;
    const run = Date.now().toString(36).slice(-6);
    const password = 'correct horse battery';
    const alice = { username: `alice_${run}`, name: `Alice ${run}` };
    const bob = { username: `bob_${run}`, name: `Bob ${run}` };
    const carol = { username: `carol_${run}`, name: `Carol ${run}` };
    let a: Page;
    let b: Page;
    let c: Page;

    beforeAll(async () => {
      origin = await target.start();
      browser = await launch();
      a = (await newUser(browser, origin)).page;
      b = (await newUser(browser, origin)).page;
      // the third user on a phone-sized screen
      c = (await newUser(browser, origin, { width: 360, height: 740 })).page;
    });
    afterAll(async () => {
      await browser?.close();
      await target.stop();
    });

    test('register and the errors a user can meet', async () => {
      await a.goto('/login');
      await shot(a, '01-login');
      await register(a, alice.username, password, alice.name);
      await register(b, bob.username, password, bob.name);
      await register(c, carol.username, password, carol.name);
      await shot(a, '02-empty-chat-list');

      // a taken username and a wrong password are explained, in a fresh context (no session)
      const { context, page } = await newUser(browser, origin);
      await page.goto('/register');
      await page.getByTestId('auth-username').fill(alice.username);
      await page.getByTestId('auth-password').fill(password);
      await page.getByTestId('auth-submit').click();
      await seeText(page.getByTestId('auth-error'), 'already taken');
      await page.goto('/login');
      await page.getByTestId('auth-username').fill(alice.username);
      await page.getByTestId('auth-password').fill('wrong password!');
      await page.getByTestId('auth-submit').click();
      await seeText(page.getByTestId('auth-error'), /Wrong username or password|Too many attempts/);
      await shot(page, '03-login-error');
      await context.close();
    });

    test('alice and bob become friends and see each other online', async () => {
      await a.getByTestId('nav-friends').click();
      await a.getByTestId('user-search').fill(bob.username);
      await a.getByRole('button', { name: `Add ${bob.username} as a friend` }).click();
      await seeText(a.locator('section'), 'Sent requests');
      await shot(a, '04-friends-search');

      await b.getByTestId('nav-friends').click();
      await b.getByRole('button', { name: `Accept ${alice.username}` }).click();
      const aliceRow = await seeText(b.getByTestId('friend-row'), alice.username);
      await seeText(aliceRow.getByTestId('presence'), 'online');

      // alice learns of the acceptance live (friends event), without a reload
      const bobRow = await seeText(a.getByTestId('friend-row'), bob.username);
      await seeText(bobRow.getByTestId('presence'), 'online');
      await shot(a, '05-friends');
    });

    test('they chat both ways with typing, sent and seen states', async () => {
      await a.getByRole('button', { name: `Message ${bob.username}` }).click();
      await a.waitForURL('**/chat/*');
      await send(a, 'Hello Bob <b>not bold</b>');
      const mine = await seeText(a.getByTestId('message'), 'Hello Bob');
      await seeText(mine.getByTestId('message-status'), /Sent|Seen/);
      // markup stays text
      expect(await a.locator('[data-testid="message-body"] b').count()).toBe(0);

      await b.goto('/chat');
      await seeText(b.getByTestId('unread-badge'), '1');
      await openConversation(b, alice.name);
      await seeText(b.getByTestId('message'), 'Hello Bob <b>not bold</b>');
      await seeText(mine.getByTestId('message-status'), 'Seen');

      // bob types: alice sees it; bob sends with Enter (Shift+Enter is a new line)
      await b.getByTestId('composer').pressSequentially('Hi Al', { delay: 20 });
      await seeText(a.getByTestId('typing-indicator'), 'is typing');
      await shot(a, '06-typing');
      await b.getByTestId('composer').press('Shift+Enter');
      await b.getByTestId('composer').pressSequentially('ice!');
      await b.getByTestId('composer').press('Enter');
      await seeText(a.getByTestId('message'), 'Hi Al');
      expect(await b.getByTestId('composer').inputValue()).toBe('');
      await a.waitForFunction(() => !document.querySelector('[data-testid="typing-indicator"]')?.textContent?.trim());
      await send(a, 'Good to see you');
      await seeText(b.getByTestId('message'), 'Good to see you');
      await shot(a, '07-direct-chat');
      await shot(b, '08-direct-chat-bob');
    });

    test('after a reload both find their history, in order', async () => {
      await a.reload();
      await b.reload();
      for (const page of [a, b]) {
        await seeText(page.getByTestId('message'), 'Good to see you');
        const texts = await page.getByTestId('message-body').allTextContents();
        expect(texts.filter((t) => /Hello Bob|Hi Al|Good to see you/.test(t))).toEqual([
          'Hello Bob <b>not bold</b>',
          'Hi Al\nice!',
          'Good to see you',
        ]);
      }
    });

    test('a room: alice creates it with bob, adds carol, and carol joins the conversation', async () => {
      // Only friends are added to a room directly (anyone else is invited): alice and carol become friends first.
      await a.goto('/friends');
      await a.getByTestId('user-search').fill(carol.username);
      await a.getByRole('button', { name: `Add ${carol.username} as a friend` }).click();
      await c.goto('/friends');
      await c.getByRole('button', { name: `Accept ${alice.username}` }).click();
      await seeText(c.getByTestId('friend-row'), alice.username);
      await seeText(a.getByTestId('friend-row'), carol.username);
      await c.goto('/chat');
      await a.goto('/chat');

      await a.getByTestId('new-room').click();
      await a.getByTestId('room-title').fill(`Room ${run}`);
      await a.getByRole('checkbox', { name: bob.name }).check();
      await a.getByTestId('room-create').click();
      await a.waitForURL('**/chat/*');
      await seeText(a.getByTestId('conversation-title'), `Room ${run}`);

      await a.getByTestId('room-settings').click();
      await a.getByTestId('member-search').fill(carol.username);
      await a.getByTestId('member-search').press('Enter');
      await a.getByRole('button', { name: `Add ${carol.username} to the room` }).click();
      await seeText(a.getByTestId('conversation-status'), '3 members');
      await shot(a, '09-room-members');
      await a.getByRole('button', { name: 'Close room settings' }).click();

      // carol (phone-sized) sees the room appear live and writes in it
      await openConversation(c, `Room ${run}`);
      await send(c, 'Hello room!');
      await seeText(a.getByTestId('message'), 'Hello room!');
      await b.goto('/chat');
      await openConversation(b, `Room ${run}`);
      await seeText(b.getByTestId('message'), 'Hello room!');
      await seeText(
        (await seeText(c.getByTestId('message'), 'Hello room!')).getByTestId('message-status'),
        /Seen by [12]/,
      );
      await shot(c, '10-room-phone');
      await shot(b, '11-room');
    });

    test('bob leaving shows alice a "last seen"', async () => {
      await b.context().close();
      await a.goto('/friends');
      const bobRow = await seeText(a.getByTestId('friend-row'), bob.username);
      await seeText(bobRow.getByTestId('presence'), 'last seen');
    });

    test('the Content-Security-Policy refuses nothing the app does', () => {
      expect(cspViolations).toEqual([]);
    });
  });
}
