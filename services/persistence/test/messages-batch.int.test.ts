import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { Message } from '@chat/contracts';
import { createDatabase, isTransientDbError, type Database } from '@chat/db';
import { silentLogger } from '@chat/logger';
import { createTestDatabase, waitFor, type TestDatabase } from '@chat/testkit';
import { createMessagesRepository, toMessage, type MessagesRepository } from '../src/repositories/messages.repository';
import { messages, schema, type MessageRow, type Schema } from '../src/repositories/schema';
import { messageId, textMessage } from './harness';

/**
 * The batch insert on its own, against a real Postgres: one autocommitted statement (`storeBatch`, the
 * consumer's common case) and the same statement inside a transaction (`transaction`, for batches that also carry reads or member changes). What it must
 * keep: seqs per conversation in id order, first-wins dedupe, gaps only for rows already stored, the
 * three kinds' columns, all or nothing, and distinct seqs in commit order under concurrent writers.
 */
describe('the batch insert', () => {
  let db: TestDatabase;
  // Two pools, as two persistence instances would have.
  let a: Database<Schema>;
  let b: Database<Schema>;
  let repoA: MessagesRepository;
  let repoB: MessagesRepository;
  const alice = randomUUID();
  const bob = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    a = createDatabase(db.url, schema, silentLogger());
    b = createDatabase(db.url, schema, silentLogger());
    repoA = createMessagesRepository(a.db, a.pool);
    repoB = createMessagesRepository(b.db, b.pool);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await db.drop();
  });

  const rows = async (conversationId: string): Promise<MessageRow[]> =>
    a.db.select().from(messages).where(eq(messages.conversationId, conversationId)).orderBy(asc(messages.seq));
  const seqs = async (conversationId: string) => (await rows(conversationId)).map((r) => [r.id, r.seq]);
  const lastSeq = async (conversationId: string) =>
    (
      await a.pool.query<{ last_seq: string }>(
        'select last_seq from persistence.conversation_seqs where conversation_id = $1',
        [conversationId],
      )
    ).rows[0]?.last_seq;

  it('numbers each conversation of a batch from its last seq, in id order whatever the batch order', async () => {
    const [c1, c2, c3] = [randomUUID(), randomUUID(), randomUUID()];
    const m = (c: string, n: number) => textMessage(c, alice, { id: messageId(n) });
    const batch = [m(c2, 30), m(c1, 12), m(c3, 50), m(c1, 10), m(c2, 31), m(c1, 11), m(c2, 29)];
    const ids = await repoA.storeBatch(batch);
    expect(ids.sort()).toEqual(batch.map((x) => x.id).sort());
    expect(await seqs(c1)).toEqual([
      [messageId(10), 1],
      [messageId(11), 2],
      [messageId(12), 3],
    ]);
    expect(await seqs(c2)).toEqual([
      [messageId(29), 1],
      [messageId(30), 2],
      [messageId(31), 3],
    ]);
    expect(await seqs(c3)).toEqual([[messageId(50), 1]]);
    // A later batch continues each conversation where it stopped, even with an older id.
    await repoB.storeBatch([m(c1, 5), m(c3, 51)]);
    expect((await seqs(c1)).at(-1)).toEqual([messageId(5), 4]);
    expect((await seqs(c3)).at(-1)).toEqual([messageId(51), 2]);
    expect(await lastSeq(c1)).toBe('4');
  });

  it('drops repeats inside a batch (first one wins, no seq spent) and skips stored ones (their seq left as a gap)', async () => {
    const c = randomUUID();
    const first = textMessage(c, alice, { id: messageId(100), body: 'first' });
    const sameId = textMessage(c, bob, { id: messageId(100), body: 'same id, other sender' });
    const resend = { ...first, id: messageId(99), body: 'resent with a new id' };
    const other = textMessage(c, bob, { id: messageId(101) });
    const ids = await repoA.storeBatch([first, sameId, resend, other, other]);
    expect(ids.sort()).toEqual([first.id, other.id]);
    expect(await seqs(c)).toEqual([
      [first.id, 1],
      [other.id, 2],
    ]);
    expect((await rows(c))[0]!.body).toBe('first');
    expect(await lastSeq(c)).toBe('2');

    // Against stored rows: a redelivery (same id), a resend (same sender and clientMsgId, new id) and one new.
    const fresh = textMessage(c, alice, { id: messageId(102) });
    const again = await repoB.storeBatch([other, { ...first, id: messageId(103), body: 'again' }, fresh]);
    expect(again).toEqual([fresh.id]);
    // The three reserved 3..5 in id order (other 3, fresh 4, the resend 5): only fresh kept its seq.
    expect(await seqs(c)).toEqual([
      [first.id, 1],
      [other.id, 2],
      [fresh.id, 4],
    ]);
    expect(await lastSeq(c)).toBe('5');
    // A batch of nothing but repeats stores nothing.
    expect(await repoA.storeBatch([first, first])).toEqual([]);
    expect(await repoA.storeBatch([])).toEqual([]);
  });

  it('stores the three kinds in their own columns, in and out of a transaction', async () => {
    const c = randomUUID();
    const text = textMessage(c, alice, { id: messageId(200), body: 'plain \u00e9\u{1F600} "quoted" {braces} \\ back' });
    const encrypted: Message = {
      ...textMessage(c, alice, { id: messageId(201) }),
      kind: 'encrypted',
      body: undefined,
      encrypted: {
        ciphertext: 'Y2lwaGVy',
        nonce: 'bm9uY2U',
        keyId: 'k1',
        senderDeviceId: 'd1',
        recipients: [{ deviceId: 'd2', wrappedKey: 'd3JhcHBlZA' }],
      },
    };
    delete encrypted.body;
    const event: Message = {
      ...textMessage(c, bob, { id: messageId(202) }),
      kind: 'event',
      event: { type: 'renamed', title: 'new "name"', actorName: 'Bob' },
    };
    delete event.body;
    await repoA.storeBatch([text, encrypted]);
    await repoA.transaction((_tx, insert) => insert([event]));
    const stored = await rows(c);
    expect(stored.map(toMessage)).toEqual([text, encrypted, event]);
    expect(stored.map((r) => [r.kind, r.body !== null, r.encrypted !== null, r.event !== null])).toEqual([
      ['text', true, false, false],
      ['encrypted', false, true, false],
      ['event', false, false, true],
    ]);
    expect(stored.map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  it('is all or nothing: a row the database refuses stores none of the batch and spends no seq', async () => {
    const c = randomUUID();
    await repoA.storeBatch([textMessage(c, alice, { id: messageId(300) })]);
    const batch = [
      textMessage(c, alice, { id: messageId(301) }),
      textMessage(c, alice, { id: messageId(302), body: 'nul \u0000 inside' }),
    ];
    const err = await repoA.storeBatch(batch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isTransientDbError(err)).toBe(false);
    expect((await seqs(c)).map(([, s]) => s)).toEqual([1]);
    expect(await lastSeq(c)).toBe('1');
  });

  it('gives concurrent batches of two instances on the same conversations distinct seqs, gap-free, without deadlocks', async () => {
    const convs = Array.from({ length: 4 }, () => randomUUID());
    let n = 1000;
    // Every batch touches every conversation, listed in a different order each time.
    const batches = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 12 }, (_, j) =>
        textMessage(convs[(i + j) % convs.length]!, i % 2 ? alice : bob, { id: messageId(n++) }),
      ).reverse(),
    );
    const results = await Promise.all(batches.map((batch, i) => (i % 2 ? repoA : repoB).storeBatch(batch)));
    expect(results.flat().length).toBe(40 * 12);
    for (const c of convs) {
      const stored = await rows(c);
      expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 40 * 3 }, (_, i) => i + 1));
      expect(await lastSeq(c)).toBe(String(40 * 3));
    }
  });

  it('orders seqs by commit: a batch waiting on an uncommitted one for the same conversation gets the later seqs', async () => {
    const c = randomUUID();
    const early = textMessage(c, alice, { id: messageId(500) });
    const late = textMessage(c, bob, { id: messageId(400) }); // an older id, committed later
    let waiting: Promise<string[]> | undefined;
    await repoA.transaction(async (_tx, insert) => {
      await insert([early]);
      waiting = repoB.storeBatch([late]);
      // The autocommitted statement blocks on this transaction's lock on the conversation's seq row.
      await waitFor(
        async () =>
          (
            await b.pool.query(
              `select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%conversation_seqs%'`,
            )
          ).rowCount,
        15_000,
        'the second batch to wait for the lock',
      );
    });
    expect(await waiting).toEqual([late.id]);
    expect(await seqs(c)).toEqual([
      [early.id, 1],
      [late.id, 2],
    ]);
  });
});
