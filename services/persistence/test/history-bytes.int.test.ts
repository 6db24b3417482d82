/** A history page is bounded in bytes too: large encrypted messages make it stop early, never skip. */
import { randomUUID } from 'node:crypto';
import { limits, type Message } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { messageId, startHarness, textMessage, type Harness } from './harness';

describe('history pages bounded in bytes', () => {
  let h: Harness;
  const alice = randomUUID();
  beforeAll(async () => {
    h = await startHarness();
    await h.startConsumer();
  });
  afterAll(() => h.close());

  /** ~116 KiB each: 16,000 characters of ciphertext and 600 wrapped keys, under the payload limit. */
  const big = (conversationId: string, n: number): Message => {
    const { body: _body, ...m } = textMessage(conversationId, alice, { id: messageId(n) });
    return {
      ...m,
      kind: 'encrypted',
      encrypted: {
        ciphertext: 'c'.repeat(16_000),
        nonce: 'n',
        keyId: 'k',
        senderDeviceId: 'd',
        recipients: Array.from({ length: 600 }, (_, i) => ({
          deviceId: `device-${i}-${'x'.repeat(28)}`,
          wrappedKey: 'w'.repeat(100),
        })),
      },
    };
  };

  it('stops a page once it passes the byte bound, and paging on returns every message once', async () => {
    const c = randomUUID();
    await h.setMembers(c, [alice]);
    const all = Array.from({ length: 30 }, (_, i) => big(c, 1_000 + i));
    for (const m of all) await h.publisher.publish('message.created', m);
    await waitFor(
      async () =>
        Number(
          (await h.database.pool.query('select count(*) from persistence.messages where conversation_id = $1', [c]))
            .rows[0].count,
        ) === 30,
      15_000,
      'stored',
    );

    const newest = await h.history(c, alice, { limit: 100 });
    expect(newest.status).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(newest.body))).toBeLessThanOrEqual(limits.historyPageMaxBytes + 200 * 1024);
    expect(newest.body.messages.length).toBeLessThan(30);
    expect(newest.body.hasMore).toBe(true);
    // The page holds the newest messages (the far end from "now" was dropped), oldest first.
    expect(newest.body.messages.at(-1).id).toBe(all[29]!.id);

    const seen: string[] = newest.body.messages.map((m: Message) => m.id);
    let page = newest.body;
    while (page.hasMore) {
      page = (await h.history(c, alice, { limit: 100, before: page.messages[0].id })).body;
      seen.unshift(...page.messages.map((m: Message) => m.id));
    }
    expect(seen).toEqual(all.map((m) => m.id));

    // Forward from the first: the newest end is what is dropped.
    const forward = (await h.history(c, alice, { limit: 100, after: all[0]!.id })).body;
    expect(forward.hasMore).toBe(true);
    expect(forward.messages[0].id).toBe(all[1]!.id);
  });
});
