/**
 * Room invitations in a real Chromium against the real stack (issue 11.4: joining a room needs the
 * invitee's consent). Alice invites two people who are not her friends: each sees the invitation live on
 * the Friends screen (and a badge), one joins the room, the other declines; alice sees both pending, then
 * neither, without a reload.
 */
import type { Browser, Page } from 'playwright-core';
import { E2eOrigin, launch, newUser, register, seeText, send, shot } from './browser';

jest.setTimeout(180_000);

describe('room invitations in the web client', () => {
  const target = new E2eOrigin();
  let origin = '';
  let browser: Browser;
  const run = Date.now().toString(36).slice(-6);
  const password = 'correct horse battery';
  const alice = { username: `ia_${run}`, name: `Alice ${run}` };
  const dave = { username: `id_${run}`, name: `Dave ${run}` };
  const erin = { username: `ie_${run}`, name: `Erin ${run}` };
  const room = `Invites ${run}`;
  let a: Page;
  let d: Page;
  let e: Page;

  beforeAll(async () => {
    origin = await target.start();
    browser = await launch();
    a = (await newUser(browser, origin)).page;
    d = (await newUser(browser, origin)).page;
    e = (await newUser(browser, origin, { width: 360, height: 740 })).page;
  });
  afterAll(async () => {
    await browser?.close();
    await target.stop();
  });

  const invite = async ({ username, name }: { username: string; name: string }) => {
    await a.getByTestId('member-search').fill(username);
    await a.getByTestId('member-search').press('Enter');
    await a.getByRole('button', { name: `Add ${username} to the room` }).click();
    await seeText(a.getByTestId('room-notice'), `Invitation sent to ${name}`);
  };

  test('the invitee sees it live and joins; the inviter sees it pending until then', async () => {
    await register(a, alice.username, password, alice.name);
    await register(d, dave.username, password, dave.name);
    await register(e, erin.username, password, erin.name);
    await d.goto('/friends');
    await e.goto('/friends');

    await a.getByTestId('new-room').click();
    await a.getByTestId('room-title').fill(room);
    await a.getByTestId('room-create').click();
    await a.waitForURL('**/chat/*');
    await a.getByTestId('room-settings').click();
    // Neither is alice's friend: adding them sends an invitation instead.
    await invite(dave);
    await invite(erin);
    await a.getByRole('button', { name: 'Close room settings' }).click();

    // Dave sees the invitation on his open Friends screen without a reload, with a badge.
    const row = await seeText(d.getByTestId('invitation-row'), room);
    await seeText(row, alice.username);
    await seeText(d.getByTestId('invitations-badge'), '1');
    await shot(d, '30-invitation-received');

    // Alice sees both pending.
    await a.goto('/friends');
    await seeText(a.getByTestId('pending-invitation'), dave.username);
    await seeText(a.getByTestId('pending-invitation'), erin.username);
    await shot(a, '31-invitations-pending');

    // Dave joins: he lands in the room and can write in it; alice's pending entry for him goes live.
    await row.getByTestId('accept-invitation').click();
    await d.waitForURL('**/chat/*');
    await seeText(d.getByTestId('conversation-title'), room);
    await send(d, 'Thanks for the invite');
    await a.getByTestId('pending-invitation').filter({ hasText: dave.username }).waitFor({ state: 'detached' });
    await seeText(a.getByTestId('pending-invitation'), erin.username);
    expect(await d.getByTestId('invitations-badge').count()).toBe(0);

    // Erin (phone-sized) declines: the invitation leaves both screens, and she is not in the room.
    const erow = await seeText(e.getByTestId('invitation-row'), room);
    await erow.getByTestId('decline-invitation').click();
    await e.getByTestId('invitation-row').waitFor({ state: 'detached' });
    await a.getByTestId('pending-invitation').waitFor({ state: 'detached' });
    await e.goto('/chat');
    await e.getByTestId('me-name').waitFor();
    expect(await e.getByTestId('conversation-item').filter({ hasText: room }).count()).toBe(0);

    // The room shows dave's message to alice.
    await a.goto('/chat');
    await (await seeText(a.getByTestId('conversation-item'), room)).click();
    await seeText(a.getByTestId('message'), 'Thanks for the invite');
  });
});
