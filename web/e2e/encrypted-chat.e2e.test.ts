/**
 * An end-to-end encrypted direct conversation in a real Chromium against the real stack (docs/e2e.md):
 * both screens show the plaintext; no table of Postgres, no message the broker carried and no service
 * log contains it. Screenshots go to web/test-results/screenshots/.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Api, type BenchUser } from '@chat/client';
import { E2EDevice, MemoryStore } from '@chat/client/e2e';
import { waitFor } from '@chat/testkit';
import { Stack } from '../../test/system/stack';
import { dumpDatabase, tapBroker } from '../../test/system/plaintext-audit';
import {
  cspViolations,
  launch,
  newUser,
  openConversation,
  recordPage,
  seeText,
  send,
  shot,
  storedOutbox,
} from './browser';

jest.setTimeout(180_000);

const info = { LOG_LEVEL: 'info' };

describe('an end-to-end encrypted direct conversation in the browser', () => {
  let stack: Stack;
  let browser: Browser;
  let tap: Awaited<ReturnType<typeof tapBroker>>;
  let api: Api;
  let alice: BenchUser;
  let bob: BenchUser;
  let a: Page;
  let b: Page;
  let aCtx: BrowserContext;
  const password = 'bench-password-1';

  async function login(page: Page, username: string) {
    await page.goto('/login');
    await page.getByTestId('auth-username').fill(username);
    await page.getByTestId('auth-password').fill(password);
    await page.getByTestId('auth-submit').click();
    await page.waitForURL('**/chat');
  }

  beforeAll(async () => {
    // Services log at info here, so the log check sees every request line they write.
    // Assigned before it starts: afterAll must stop a start that failed half-way.
    stack = new Stack({ env: { accounts: info, persistence: info, delivery: info, gateway: info } });
    await stack.start();
    tap = await tapBroker(stack.testVhost!);
    api = new Api(stack.origin());
    const run = Date.now().toString(36).slice(-5);
    alice = await api.register(`ea${run}`, 0);
    bob = await api.register(`eb${run}`, 1);
    await api.befriend(alice, bob);
    browser = await launch();
    ({ context: aCtx, page: a } = await newUser(browser, stack.origin()));
    b = (await newUser(browser, stack.origin())).page;
  });
  afterAll(async () => {
    await tap?.stop();
    await browser?.close();
    await stack?.stop();
  });

  test('two users chat encrypted; the plaintext is on both screens and nowhere on the server side', async () => {
    await login(a, alice.username);
    await login(b, bob.username);
    // Each browser registers its device (keys made and kept in IndexedDB) on its first connection.
    for (const u of [alice, bob]) {
      await waitFor(
        async () => (await api.call<unknown[]>('GET', `/users/${u.id}/devices`, undefined, u.token)).length === 1,
        15_000,
        `${u.username}'s device`,
      );
    }

    await a.goto('/friends');
    await a.getByTestId('direct-e2e').check();
    await a.getByRole('button', { name: `Message ${bob.username}` }).click();
    await a.waitForURL('**/chat/*');
    await seeText(a.getByTestId('e2e-lock'), 'End-to-end encrypted');

    const hello = `Hello Bob, secretly ${randomUUID().slice(0, 8)}`;
    await send(a, hello);
    const mine = await seeText(a.getByTestId('message'), hello);
    await seeText(mine.getByTestId('message-status'), /Sent|Seen/);

    await openConversation(b, alice.username);
    await seeText(b.getByTestId('e2e-lock'), 'End-to-end encrypted');
    await seeText(b.getByTestId('message-body'), hello);
    const reply = `Hi Alice, secretly ${randomUUID().slice(0, 8)}`;
    await send(b, reply);
    await seeText(a.getByTestId('message-body'), reply);
    // The conversation list's preview is decrypted on the client.
    await seeText(a.getByTestId('conversation-item'), reply);
    await shot(a, '20-e2e-direct-alice');
    await shot(b, '21-e2e-direct-bob');

    // Both compute the same safety number.
    await a.getByTestId('e2e-lock').click();
    await b.getByTestId('e2e-lock').click();
    const na = await (await seeText(a.getByTestId('e2e-safety-number'), /\d{5}/)).textContent();
    const nb = await (await seeText(b.getByTestId('e2e-safety-number'), /\d{5}/)).textContent();
    expect(na).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(na).toBe(nb);
    await shot(a, '22-e2e-devices');

    // After a reload the history reads the same (the device and its plaintexts persist in IndexedDB).
    await a.reload();
    await seeText(a.getByTestId('message-body'), reply);
    expect(await a.getByTestId('message-body').allTextContents()).toEqual([hello, reply]);

    // Bob logs in on a second browser: a new device. What was sent before it exists stays closed to it,
    // said so in place; once alice's next message adds it to the group, it reads that one.
    const b2 = (await newUser(browser, stack.origin())).page;
    await login(b2, bob.username);
    await waitFor(
      async () => (await api.call<unknown[]>('GET', `/users/${bob.id}/devices`, undefined, bob.token)).length === 2,
      15_000,
      "bob's second device",
    );
    await openConversation(b2, alice.username);
    await seeText(b2.getByTestId('message-undecryptable'), /keys not received yet|sent before this device joined/);
    const later = `For both of your devices, secretly ${randomUUID().slice(0, 8)}`;
    await send(a, later);
    await seeText(b2.getByTestId('message-body'), later);
    await seeText(b.getByTestId('message-body'), later);
    await seeText(b2.getByTestId('message-undecryptable'), 'sent before this device joined');
    expect(await b2.getByTestId('message-undecryptable').count()).toBe(2);
    await shot(b2, '23-e2e-new-device');

    // A room made encrypted with the checkbox: the lock, and the text on the other side.
    await a.getByTestId('new-room').click();
    await a.getByTestId('room-title').fill('Secret room');
    await a.getByRole('checkbox', { name: bob.username }).check();
    await a.getByTestId('room-e2e').check();
    await a.getByTestId('room-create').click();
    await seeText(a.getByTestId('conversation-title'), 'Secret room');
    await seeText(a.getByTestId('e2e-lock'), 'End-to-end encrypted');
    // Bob's second device appeared since alice's device last looked: the lock says so.
    await seeText(a.getByTestId('e2e-devices-changed'), 'devices changed');
    const inRoom = `Room talk, secretly ${randomUUID().slice(0, 8)}`;
    const bobPage = recordPage(b);
    await send(a, inRoom);
    await openConversation(b, 'Secret room');
    await bobPage.explain(seeText(b.getByTestId('message-body'), inRoom));

    // The server side: the message ids are there, the plaintexts are not.
    const direct = (
      await api.call<Array<{ id: string; kind: string }>>('GET', '/conversations', undefined, alice.token)
    ).find((c) => c.kind === 'direct')!;
    // History follows live delivery (persistence consumes the events on its own): wait for the third.
    const history = await waitFor(
      async () => {
        const h = await api.history(direct.id, alice.token);
        return h.length >= 3 ? h : null;
      },
      15_000,
      'the three direct messages in history',
    );
    expect(history).toHaveLength(3);
    await waitFor(
      () => tap.bodies().some((body) => body.includes(history[2]!.id)),
      10_000,
      'the broker to carry the last message',
    );
    const dump = await dumpDatabase(stack.database.url);
    expect(dump).toContain(history[2]!.id);
    const logs = stack.procs.map((p) => p.process.stdout() + p.process.stderr()).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [hello, reply, later, inRoom, 'secretly']) {
      expect(dump).not.toContain(secret);
      expect(tap.bodies().filter((body) => body.includes(secret))).toEqual([]);
      expect(logs).not.toContain(secret);
    }
  });

  test('written offline in an encrypted conversation: sealed at rest, sent encrypted on reconnect', async () => {
    await openConversation(a, bob.username);
    await seeText(a.getByTestId('e2e-lock'), 'End-to-end encrypted');
    const directUrl = a.url();
    await aCtx.setOffline(true);
    await seeText(a.getByTestId('connection-banner'), 'sent when the connection is back');
    const queued = `Queued while offline, secretly ${randomUUID().slice(0, 8)}`;
    await send(a, queued);
    await seeText((await seeText(a.getByTestId('message'), queued)).getByTestId('message-status'), 'Waiting for');
    // A draft typed in an encrypted conversation is not written to localStorage either.
    const draft = `A draft, secretly ${randomUUID().slice(0, 8)}`;
    await a.getByTestId('composer').fill(draft);
    await a.getByTestId('composer').press('End');
    await a.getByTestId('composer').pressSequentially('!');

    // Everything this origin keeps on disk, read from the page: the outbox holds a sealed entry (the
    // plaintext in no field, no byte array), and no store or localStorage key holds either text.
    await waitFor(async () => (await storedOutbox(a)).length === 1, 10_000, 'the queued entry in IndexedDB');
    const [entry] = await storedOutbox(a);
    expect(entry).toMatchObject({ e2e: true, sealed: expect.any(Object) });
    expect(entry).not.toHaveProperty('body');
    const disk = await everythingStored(a);
    expect(disk).toContain(entry!.clientMsgId);
    for (const secret of [queued, draft, 'secretly']) expect(disk).not.toContain(secret);

    // The tab goes away while offline and comes back online: the message goes out by itself, encrypted.
    await a.close();
    await aCtx.setOffline(false);
    a = await aCtx.newPage();
    // The reloaded page restores its session, opens its key store and unseals the entry before it shows
    // it: over 15 s once on a loaded CI machine (5 s when idle at most).
    a.setDefaultTimeout(30_000);
    // It failed twice in CI, never here: if it fails again, the error says what the page showed and logged.
    const page = recordPage(a);
    await a.goto(directUrl);
    await page.explain(
      seeText(a.getByTestId('message'), queued).then((m) => seeText(m.getByTestId('message-status'), /Sent|Seen/)),
    );
    await openConversation(b, alice.username);
    await seeText(b.getByTestId('message-body'), queued);
    await waitFor(async () => (await storedOutbox(a)).length === 0, 10_000, 'the outbox to empty');
    const direct = (
      await api.call<Array<{ id: string; kind: string }>>('GET', '/conversations', undefined, alice.token)
    ).find((c) => c.kind === 'direct')!;
    // Seen live and acknowledged is not yet stored: history follows live delivery by a batch.
    const last = await waitFor(
      async () => {
        const m = (await api.history(direct.id, alice.token)).at(-1);
        return m?.clientMsgId === entry!.clientMsgId ? m : null;
      },
      15_000,
      'the queued message in history',
    );
    expect(last).toMatchObject({ kind: 'encrypted', clientMsgId: entry!.clientMsgId });
    expect(JSON.stringify(last)).not.toContain('secretly');
  });

  test("idle browsers add a member's new device and fetch the commit from the socket's e2e events alone", async () => {
    const direct = (
      await api.call<Array<{ id: string; kind: string }>>('GET', '/conversations', undefined, alice.token)
    ).find((c) => c.kind === 'direct')!;
    const epoch = async () =>
      (await api.call<{ epoch: number }>('GET', `/e2e/groups/${direct.id}`, undefined, alice.token)).epoch;
    await a.goto('/friends');
    // Bob's browser sits on the conversation with nothing to do: every message there is decrypted.
    await openConversation(b, alice.username);
    await seeText(b.getByTestId('message-body'), 'Queued while offline');
    expect(await b.getByTestId('message-undecryptable').count()).toBe(0);
    const before = await epoch();
    const commitsFrom = (p: Page) =>
      p.waitForRequest((r) => r.url().includes(`/e2e/groups/${direct.id}/commits?from=${before}`), {
        timeout: 30_000,
      });
    // Whichever browser did not commit the addition fetches it.
    const fetched = Promise.any([commitsFrom(a), commitsFrom(b)]);
    // Bob gets a new device (a Node client). Nobody sends, opens or changes membership: its first key
    // packages are announced (e2e event, type `device`), one of the idle browsers adds it (one commit),
    // and the other learns of that commit from the e2e event alone.
    const node = await E2EDevice.open({ request: api.requester(bob.token), store: new MemoryStore(), userId: bob.id });
    await waitFor(async () => (await epoch()) === before + 1, 20_000, "an idle browser to add bob's new device");
    await fetched;
    await node.reconcile(direct.id);
    expect((await node.groupDevices(direct.id)).map((d) => d.deviceId)).toContain(node.deviceId);
    await node.remove();
  });

  test('the Content-Security-Policy refuses nothing the app does', () => {
    expect(cspViolations).toEqual([]);
  });
});

/** Every value of every IndexedDB store of the origin and of localStorage, as one text (bytes decoded). */
function everythingStored(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const text = (v: unknown): string =>
      JSON.stringify(v, (_k, x) =>
        x instanceof ArrayBuffer || ArrayBuffer.isView(x)
          ? new TextDecoder('latin1').decode(
              x instanceof ArrayBuffer ? x : new Uint8Array(x.buffer, x.byteOffset, x.byteLength),
            )
          : x,
      ) ?? '';
    const out: string[] = [];
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open(name!);
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error ?? new Error('IndexedDB'));
      });
      for (const store of Array.from(db.objectStoreNames)) {
        const values = await new Promise<unknown[]>((resolve, reject) => {
          const r = db.transaction(store).objectStore(store).getAll();
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error ?? new Error('IndexedDB'));
        });
        out.push(...values.map(text));
      }
      db.close();
    }
    for (let i = 0; i < localStorage.length; i++)
      out.push(`${localStorage.key(i)}=${localStorage.getItem(localStorage.key(i)!)}`);
    return out.join('\n');
  });
}
