/**
 * What a person expects of the web client beyond the basics (issue 14), in a real Chromium against
 * the real stack, one stack for every scenario: unblocking and the blocked state, rooms that say who
 * is who and what happened, an offline send queue that survives a reload, the unread divider and
 * "jump to latest", "Seen" only when seen, links, right-to-left text, keyboard and screen readers,
 * the smaller things, and an axe-core scan of the main screens. Screenshots of the new states go to
 * web/test-results/screenshots/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitFor } from '@chat/testkit';
import { seriousViolations } from './a11y';
import {
  E2eOrigin,
  cspViolations,
  launch,
  newUser,
  openConversation,
  register,
  seeText,
  send,
  shot,
  storedOutbox,
} from './browser';

jest.setTimeout(240_000);

describe('the web client people expect', () => {
  const target = new E2eOrigin();
  let origin = '';
  let browser: Browser;
  const run = Date.now().toString(36).slice(-6);
  const password = 'correct horse battery';
  const dana = { username: `dana_${run}`, name: `Dana ${run}` };
  const eli = { username: `eli_${run}`, name: `Eli ${run}` };
  const fay = { username: `fay_${run}`, name: `Fay ${run}` };
  let dCtx: BrowserContext;
  let d: Page;
  let e: Page;
  let f: Page;
  let directUrl = '';
  let roomUrl = '';
  /** Serious or critical axe findings per screen; asserted empty at the end (and shown if not). */
  const axeFindings: Record<string, unknown[]> = {};

  const scan = async (page: Page, screen: string) => {
    axeFindings[screen] = await seriousViolations(page);
  };
  /** Answers the next confirm() and returns its text. */
  const onConfirm = (page: Page, accept: boolean) =>
    new Promise<string>((resolve) => {
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void (accept ? dialog.accept() : dialog.dismiss());
      });
    });
  const befriend = async (from: Page, to: Page, toUser: { username: string }, fromUser: { username: string }) => {
    await from.goto('/friends');
    await from.getByTestId('user-search').fill(toUser.username);
    await from.getByRole('button', { name: `Add ${toUser.username} as a friend` }).click();
    await seeText(from.locator('section'), 'Sent requests');
    await to.goto('/friends');
    await to.getByRole('button', { name: `Accept ${fromUser.username}` }).click();
    await seeText(to.getByTestId('friend-row'), fromUser.username);
  };
  const lastStatus = async (page: Page, text: string) =>
    (await seeText(page.getByTestId('message'), text)).getByTestId('message-status');

  beforeAll(async () => {
    origin = await target.start();
    browser = await launch();
    ({ context: dCtx, page: d } = await newUser(browser, origin));
    e = (await newUser(browser, origin)).page;
    f = (await newUser(browser, origin)).page;
  });
  afterAll(async () => {
    await browser?.close();
    await target.stop();
  });

  test('set-up: three people, two of them friends with a direct chat', async () => {
    await d.goto('/login');
    await scan(d, 'login');
    await register(d, dana.username, password, dana.name);
    await register(e, eli.username, password, eli.name);
    await register(f, fay.username, password, fay.name);
    await scan(d, 'chat list');
    await befriend(d, e, eli, dana);
    await d.getByRole('button', { name: `Message ${eli.username}` }).click();
    await d.waitForURL('**/chat/*');
    directUrl = new URL(d.url()).pathname;
    await send(d, 'Hi Eli');
    await openConversation(e, dana.name);
    await seeText(e.getByTestId('message'), 'Hi Eli');
    await scan(d, 'conversation');
  });

  test('1. block: the blocked person sees no presence and no message box; the blocker unblocks from Friends or the chat', async () => {
    await d.goto('/friends');
    await scan(d, 'friends');
    const asked = onConfirm(d, true);
    await d.getByRole('button', { name: `Block ${eli.username}` }).click();
    expect(await asked).toMatch(/^Block /);
    const row = await seeText(d.getByTestId('blocked-row'), eli.username);
    await shot(d, 'i14-01-blocked-list');

    // Eli, still in the chat: no "online", no message box, a notice instead.
    await seeText(e.getByTestId('chat-closed'), 'no longer friends');
    expect(await e.getByTestId('composer').count()).toBe(0);
    expect(await e.getByTestId('conversation-status').innerText()).not.toMatch(/online|last seen/);
    await shot(e, 'i14-02-blocked-person-chat');

    // Dana's side of the chat offers Unblock in place of the message box.
    await d.goto(directUrl);
    await seeText(d.getByTestId('chat-closed'), 'You blocked');
    await shot(d, 'i14-03-blocker-chat');
    await d.getByTestId('chat-unblock').click();
    await seeText(d.getByTestId('chat-closed'), 'no longer friends');

    // Blocked again, and unblocked from the Friends list this time; then friends again, chat open again.
    await d.goto('/friends');
    await d.getByTestId('user-search').fill(eli.username);
    await seeText(d.getByTestId('search-results'), eli.username);
    expect(await row.count()).toBe(0);
    await befriend(d, e, eli, dana);
    const again = onConfirm(d, true);
    await d.getByRole('button', { name: `Block ${eli.username}` }).click();
    await again;
    await (await seeText(d.getByTestId('blocked-row'), eli.username)).getByTestId('unblock').click();
    await seeText(d.locator('.notice'), 'is unblocked');
    expect(await d.getByTestId('blocked-row').count()).toBe(0);
    await befriend(d, e, eli, dana);
    await e.goto(directUrl);
    await e.getByTestId('composer').waitFor();
  });

  test('2. rooms: names for non-friends, what happened in the timeline, "1 member", confirmed removal, a removed member told so', async () => {
    // Only friends are added to a room directly: Dana befriends Fay (Eli and Fay stay strangers).
    await befriend(d, f, fay, dana);
    await d.getByTestId('new-room').click();
    await d.getByTestId('room-title').fill(`Plans ${run}`);
    await d.getByRole('checkbox', { name: eli.name }).check();
    await d.getByTestId('room-create').click();
    await d.waitForURL('**/chat/*');
    roomUrl = new URL(d.url()).pathname;
    await d.getByTestId('room-settings').click();
    await d.getByTestId('member-search').fill(fay.username);
    await d.getByTestId('member-search').press('Enter');
    await d.getByRole('button', { name: `Add ${fay.username} to the room` }).click();
    await seeText(d.getByTestId('conversation-status'), '3 members');
    await scan(d, 'room panel');
    await d.getByRole('button', { name: 'Close room settings' }).click();

    // Eli is not Fay's friend: Fay shows by name, and the timeline says who added whom.
    await e.goto(roomUrl);
    await seeText(e.getByTestId('room-event'), `${dana.name} created the room “Plans ${run}”`);
    await seeText(e.getByTestId('room-event'), `${dana.name} added ${fay.name}`);
    await e.getByTestId('room-settings').click();
    await seeText(e.getByTestId('member-name'), fay.name);
    expect(await e.getByTestId('member-list').innerText()).not.toMatch(/user [0-9a-f]{8}/);
    await e.keyboard.press('Escape');

    await d.getByTestId('room-settings').click();
    await d.getByTestId('room-rename-input').fill(`Trip ${run}`);
    await d.getByTestId('room-rename').click();
    await seeText(e.getByTestId('room-event'), `${dana.name} renamed the room to “Trip ${run}”`);

    // Fay has the room open when she is removed; the removal is confirmed first.
    await f.goto(roomUrl);
    await seeText(f.getByTestId('message-list'), 'renamed the room');
    const dismissed = onConfirm(d, false);
    await d.getByRole('button', { name: `Remove ${fay.name}` }).click();
    expect(await dismissed).toContain(`Remove ${fay.name}`);
    await seeText(d.getByTestId('conversation-status'), '3 members');
    const confirmed = onConfirm(d, true);
    await d.getByRole('button', { name: `Remove ${fay.name}` }).click();
    await confirmed;
    await seeText(d.getByTestId('conversation-status'), '2 members');
    await seeText(e.getByTestId('room-event'), `${dana.name} removed ${fay.name}`);
    await seeText(f.getByTestId('removed-notice'), `no longer a member of Trip ${run}`);
    await shot(f, 'i14-04-removed-from-room');
    await shot(e, 'i14-05-room-events');

    // A room of one says "1 member".
    await d.getByTestId('new-room').click();
    await d.getByTestId('room-title').fill(`Solo ${run}`);
    await d.getByTestId('room-create').click();
    await seeText(d.getByTestId('conversation-title'), `Solo ${run}`);
    await seeText(d.getByTestId('conversation-status'), /^\s*1 member\s*$/);
  });

  test('3. written offline: queued, kept across a reload, sent once by itself on reconnect', async () => {
    await e.goto(directUrl);
    await d.goto(directUrl);
    await d.getByTestId('composer').waitFor();
    await dCtx.setOffline(true);
    await seeText(d.getByTestId('connection-banner'), 'sent when the connection is back');
    await send(d, 'offline one');
    await send(d, 'offline two');
    await seeText(await lastStatus(d, 'offline two'), 'Waiting for connection');
    await seeText(await lastStatus(d, 'offline one'), 'Waiting for connection');
    await shot(d, 'i14-06-offline-queue');
    // The tab goes away while offline; the queue is in IndexedDB (written behind the screen: wait for it).
    await waitFor(
      async () => (await outboxBodies(d)).filter((t) => t.startsWith('offline')).length === 2,
      15_000,
      'both queued in IndexedDB',
    );
    await d.close();
    await dCtx.setOffline(false);
    d = await dCtx.newPage();
    d.setDefaultTimeout(15_000);
    await d.goto(directUrl);
    await seeText(await lastStatus(d, 'offline two'), /Sent|Seen/);
    for (const text of ['offline one', 'offline two']) await seeText(e.getByTestId('message'), text);
    const bodies = await e.getByTestId('message-body').allTextContents();
    expect(bodies.filter((t) => t.startsWith('offline'))).toEqual(['offline one', 'offline two']);
    // Sent: the outbox is empty (an acknowledged entry leaves IndexedDB just after the screen says Sent),
    // so another reload shows them once, from history.
    await waitFor(
      async () => !(await outboxBodies(d)).some((t) => t.startsWith('offline')),
      15_000,
      'the outbox emptied',
    );
    await d.reload();
    await seeText(d.getByTestId('message'), 'offline two');
    expect((await d.getByTestId('message-body').allTextContents()).filter((t) => t.startsWith('offline'))).toHaveLength(
      2,
    );
  });

  test('3b. a message the server refuses stays "Not sent" across a reload, with Retry and Discard', async () => {
    await e.goto('/friends');
    await d.goto(directUrl);
    await d.getByTestId('composer').waitFor();
    await dCtx.setOffline(true);
    await send(d, 'refused later');
    await seeText(await lastStatus(d, 'refused later'), 'Waiting for connection');
    const asked = onConfirm(e, true);
    await e.getByRole('button', { name: `Block ${dana.username}` }).click();
    await asked;
    await seeText(e.getByTestId('blocked-row'), dana.username);
    await dCtx.setOffline(false);
    await seeText(await lastStatus(d, 'refused later'), 'Not sent');
    await d.reload();
    const refused = await seeText(d.getByTestId('message'), 'refused later');
    await seeText(refused.getByTestId('message-status'), 'Not sent');
    await refused.getByTestId('retry').waitFor();
    await shot(d, 'i14-06b-not-sent-after-reload');

    // Storage that will not write: a retry still goes out (refused again, the block holds), and the
    // message says that this browser did not keep it. (IndexedDB still holds its earlier refusal.)
    await failOutboxWrites(d, true);
    await refused.getByTestId('retry').click();
    await seeText(refused.getByTestId('message-status'), /Not sent: .*· Not saved in this browser/);
    await failOutboxWrites(d, false);

    // Storage that will not remove it: the message stays, still "Not sent", says it was not discarded,
    // and still offers Retry and Discard.
    await d.evaluate(() => {
      const w = window as unknown as { realDelete?: PropertyDescriptor };
      w.realDelete = Object.getOwnPropertyDescriptor(IDBObjectStore.prototype, 'delete');
      Object.defineProperty(IDBObjectStore.prototype, 'delete', {
        configurable: true,
        value: () => {
          throw new DOMException('the disk is unavailable', 'UnknownError');
        },
      });
    });
    await refused.getByTestId('discard').click();
    await seeText(refused.getByTestId('message-status'), /Not sent, and not discarded: .*the disk is unavailable/);
    await refused.getByTestId('retry').waitFor();
    expect(await outboxBodies(d)).toContain('refused later');
    await d.evaluate(() => {
      const w = window as unknown as { realDelete: PropertyDescriptor };
      Object.defineProperty(IDBObjectStore.prototype, 'delete', w.realDelete);
    });

    // Slow storage: another transaction holds the outbox, so the removal waits behind it. The message
    // stays on screen ("Discarding…") until the removal is committed, so a reload the moment it leaves
    // the screen cannot bring it back (it used to leave at once, and a reload then did).
    const release = await holdOutbox(d);
    await refused.getByTestId('discard').click();
    await seeText(refused.getByTestId('message-status'), 'Discarding…');
    await release();
    await refused.waitFor({ state: 'detached' });
    await d.reload();
    await seeText(d.getByTestId('message'), 'offline two');
    expect(await outboxBodies(d)).not.toContain('refused later');
    expect(await d.getByTestId('message').filter({ hasText: 'refused later' }).count()).toBe(0);

    await (await seeText(e.getByTestId('blocked-row'), dana.username)).getByTestId('unblock').click();
    await seeText(e.locator('.notice'), 'is unblocked');
    await befriend(d, e, eli, dana);

    // Eli's block took Eli out of the room they shared, and unblocking gives no room back:
    // Dana, a friend again, adds Eli to it again.
    await d.goto(roomUrl);
    await d.getByTestId('room-settings').click();
    await d.getByTestId('member-search').fill(eli.username);
    await d.getByTestId('member-search').press('Enter');
    await d.getByRole('button', { name: `Add ${eli.username} to the room` }).click();
    await seeText(d.getByTestId('conversation-status'), '2 members');
    await d.getByRole('button', { name: 'Close room settings' }).click();

    // Written offline while storage refuses the outbox write: queued in this page only, it says so,
    // and still goes out by itself when the connection is back (the page was kept open).
    await failOutboxWrites(d, true);
    await dCtx.setOffline(true);
    await seeText(d.getByTestId('connection-banner'), 'sent when the connection is back');
    await send(d, 'kept in this page only');
    await seeText(
      await lastStatus(d, 'kept in this page only'),
      /Waiting for connection… · Not saved in this browser: a reload or closing the page may lose it/,
    );
    expect(await outboxBodies(d)).not.toContain('kept in this page only');
    await failOutboxWrites(d, false);
    await dCtx.setOffline(false);
    await seeText(await lastStatus(d, 'kept in this page only'), /^\s*(Sent|Seen by 1)\s*$/);
    await d.reload();
    await seeText(d.getByTestId('message'), 'kept in this page only');
    expect(await d.getByTestId('message').filter({ hasText: 'kept in this page only' }).count()).toBe(1);
  });

  test('4. a long backlog opens at a "New messages" divider; "Seen" only when on screen in a focused tab', async () => {
    await d.goto('/friends');
    await e.goto(directUrl);
    const composer = e.getByTestId('composer');
    // More than the send rate limit's burst (50): the ones it refuses wait and go out by themselves.
    for (let i = 1; i <= 70; i++) {
      await composer.fill(`backlog ${i}`);
      await composer.press('Enter');
    }
    await seeText(await lastStatus(e, 'backlog 70'), 'Sent');
    await waitFor(
      async () =>
        (await e
          .getByTestId('message-status')
          .filter({ hasText: /Waiting|Sending|Not sent/ })
          .count()) === 0,
      30_000,
      'every backlog message sent',
    );
    const sent = (await e.getByTestId('message-body').allTextContents()).filter((t) => t.startsWith('backlog'));
    expect(sent.sort()).toEqual(Array.from({ length: 70 }, (_, i) => `backlog ${i + 1}`).sort());
    await seeText(d.getByTestId('unread-badge'), '70');

    await d.goto(directUrl);
    const divider = d.getByTestId('unread-divider');
    await divider.waitFor();
    // The divider sits right before the first unread message and is on screen, not scrolled past.
    expect(await d.locator('[data-testid="unread-divider"] + li').innerText()).toContain('backlog 1');
    const onScreen = await divider.evaluate((el) => {
      const list = el.closest('[data-testid="message-list"]')!.getBoundingClientRect();
      const r = el.getBoundingClientRect();
      return r.top >= list.top && r.bottom <= list.bottom;
    });
    expect(onScreen).toBe(true);
    await seeText(d.getByTestId('jump-latest'), 'Jump to latest');
    await shot(d, 'i14-07-unread-divider');
    // Never on Dana's screen yet: Eli does not see "Seen".
    await seeText(await lastStatus(e, 'backlog 70'), 'Sent');

    // A new message while scrolled up: counted on the button, not seen.
    await send(e, 'while you were up');
    await seeText(d.getByTestId('jump-latest'), '1 new message');
    await shot(d, 'i14-08-jump-to-latest');
    expect(await (await lastStatus(e, 'while you were up')).innerText()).toBe('Sent');
    await d.getByTestId('jump-latest').click();
    await seeText(await lastStatus(e, 'while you were up'), 'Seen');

    // Dana's window loses focus: a message arriving on screen is not "Seen" until she comes back.
    await d.evaluate(() => {
      Object.defineProperty(document, 'hasFocus', { configurable: true, value: () => false });
      window.dispatchEvent(new Event('blur'));
    });
    await send(e, 'are you there?');
    await seeText(d.getByTestId('message'), 'are you there?');
    await seeText(await lastStatus(e, 'are you there?'), 'Sent');
    await d.waitForTimeout(300); // nothing to await: the absence of a read event is the point
    expect(await (await lastStatus(e, 'are you there?')).innerText()).toBe('Sent');
    await d.evaluate(() => {
      Object.defineProperty(document, 'hasFocus', { configurable: true, value: () => true });
      window.dispatchEvent(new Event('focus'));
    });
    await seeText(await lastStatus(e, 'are you there?'), 'Seen');
  });

  test('5 and 6. links (http and https only) and right-to-left text', async () => {
    await send(d, 'docs at https://example.org/guide?x=1. not javascript:alert(1) <a href="https://evil.test">x</a>');
    const msg = await seeText(e.getByTestId('message'), 'docs at');
    const links = msg.locator('a');
    await seeText(links.first(), 'https://example.org/guide?x=1');
    expect(await links.count()).toBe(2);
    expect(await links.first().getAttribute('href')).toBe('https://example.org/guide?x=1');
    expect(await links.first().getAttribute('rel')).toBe('noopener noreferrer');
    expect(await links.nth(1).getAttribute('href')).toBe('https://evil.test/');
    // The markup itself stays text.
    await seeText(msg.getByTestId('message-body'), '<a href="');

    await send(d, 'שלום, מה שלומך?');
    const hebrew = (await seeText(e.getByTestId('message'), 'שלום')).getByTestId('message-body');
    expect(await hebrew.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    const english = (await seeText(e.getByTestId('message'), 'docs at')).getByTestId('message-body');
    expect(await english.evaluate((el) => getComputedStyle(el).direction)).toBe('ltr');
    await shot(e, 'i14-09-links-and-rtl');
  });

  test('7. keyboard and screen readers: focus on open, skip link, Escape, Load older keeps focus, announced messages with their sender', async () => {
    await e.goto('/chat');
    await openConversation(e, dana.name);
    expect(await e.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('composer');

    // The skip link is the first stop of the page and lands in the main area.
    const first = await e.evaluate(() =>
      document
        .querySelector('a[href], button, input, textarea, [tabindex]:not([tabindex="-1"])')
        ?.getAttribute('data-testid'),
    );
    expect(first).toBe('skip-link');
    await e.getByTestId('skip-link').focus();
    await e.keyboard.press('Enter');
    expect(await e.evaluate(() => document.activeElement?.id)).toBe('main-content');

    // Load older from the keyboard: focus stays on the button (or in the list), never on <body>.
    const held = await e.getByTestId('message').count();
    const older = e.getByTestId('load-older');
    await older.focus();
    await e.keyboard.press('Enter');
    await e.waitForFunction((n) => document.querySelectorAll('[data-testid="message"]').length > n, held);
    expect(await e.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toMatch(/load-older|messages/);

    // A new message is announced with its sender; every message names its sender for a screen reader.
    await send(d, 'announce me');
    await seeText(e.getByTestId('announcer'), `${dana.name}: announce me`);
    expect(await (await seeText(e.getByTestId('message'), 'announce me')).textContent()).toContain(`${dana.name}:`);

    // Escape closes the members panel and gives the focus back to its button.
    await e.goto(roomUrl);
    await e.getByTestId('room-settings').click();
    await e.getByTestId('room-panel').waitFor();
    await e.keyboard.press('Escape');
    await e.getByTestId('room-panel').waitFor({ state: 'detached' });
    expect(await e.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('room-settings');
  });

  test('8. search inside names and by @name, deep link through login, unfriend confirmation, full date on hover, notifications offer goes away, drafts survive a reload', async () => {
    await f.goto('/friends');
    await f.getByTestId('user-search').fill(`@ana_${run}`);
    await seeText(f.getByTestId('search-results'), dana.username);

    // A deep link opened logged out comes back after logging in.
    const { context, page } = await newUser(browser, origin);
    await page.goto(directUrl);
    await page.waitForURL('**/login?next=*');
    await page.getByTestId('auth-username').fill(eli.username);
    await page.getByTestId('auth-password').fill(password);
    await page.getByTestId('auth-submit').click();
    await page.waitForURL(`**${directUrl}`);
    await seeText(page.getByTestId('message'), 'announce me');
    await context.close();

    await e.goto('/friends');
    const asked = onConfirm(e, false);
    await e.getByRole('button', { name: `Unfriend ${dana.username}` }).click();
    expect(await asked).toContain(`Remove ${dana.username} from your friends`);
    await seeText(e.getByTestId('friend-row'), dana.username);

    await e.goto(directUrl);
    const time = (await seeText(e.getByTestId('message'), 'announce me')).getByTestId('message-time');
    expect(await time.getAttribute('title')).toContain(String(new Date().getFullYear()));

    if ((await e.evaluate(() => Notification.permission)) === 'default') {
      await e.getByTestId('notifications-dismiss').click();
      await e.reload();
      await e.getByTestId('composer').waitFor();
      expect(await e.getByTestId('notifications-offer').count()).toBe(0);
    }

    await e.getByTestId('composer').fill('half a thought');
    await e.getByTestId('composer').press('Space');
    await e.reload();
    await e.getByTestId('composer').waitFor();
    expect(await e.getByTestId('composer').inputValue()).toBe('half a thought ');
    await shot(e, 'i14-10-draft-kept');
  });

  test('axe-core finds no serious or critical violation on the main screens', () => {
    expect(Object.keys(axeFindings).sort()).toEqual(['chat list', 'conversation', 'friends', 'login', 'room panel']);
    expect(axeFindings).toEqual({ 'chat list': [], conversation: [], friends: [], login: [], 'room panel': [] });
  });

  test('the Content-Security-Policy refuses nothing the app does', () => {
    expect(cspViolations).toEqual([]);
  });
});

/** Makes the page's IndexedDB writes (`put`) throw, as a full or failing disk would, or restores them. */
async function failOutboxWrites(page: Page, fail: boolean): Promise<void> {
  await page.evaluate((fail) => {
    const w = window as unknown as { realPut?: PropertyDescriptor };
    if (!fail) {
      if (w.realPut) Object.defineProperty(IDBObjectStore.prototype, 'put', w.realPut);
      delete w.realPut;
      return;
    }
    w.realPut ??= Object.getOwnPropertyDescriptor(IDBObjectStore.prototype, 'put');
    Object.defineProperty(IDBObjectStore.prototype, 'put', {
      configurable: true,
      value: () => {
        throw new DOMException('the disk is full', 'QuotaExceededError');
      },
    });
  }, fail);
}

/**
 * Holds the page's outbox store in a read-write transaction of its own (kept alive by one read after
 * another), as slow storage would: the page's own writes to it wait. Resolves once the hold has begun,
 * with the function that ends it.
 */
async function holdOutbox(page: Page): Promise<() => Promise<void>> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const w = window as unknown as { outboxHeld?: boolean };
        w.outboxHeld = true;
        const r = indexedDB.open('chat-offline');
        r.onerror = () => reject(r.error ?? new Error('IndexedDB'));
        r.onsuccess = () => {
          const tx = r.result.transaction('outbox', 'readwrite');
          tx.oncomplete = () => r.result.close();
          const store = tx.objectStore('outbox');
          const again = () => {
            store.count().onsuccess = () => {
              resolve();
              if (w.outboxHeld) again();
            };
          };
          again();
        };
      }),
  );
  return () =>
    page.evaluate(() => {
      (window as unknown as { outboxHeld?: boolean }).outboxHeld = false;
    });
}

/** The bodies of the offline outbox's entries in IndexedDB (a plain conversation's are stored in clear). */
async function outboxBodies(page: Page): Promise<string[]> {
  return (await storedOutbox(page)).map((e) => String(e.body));
}
