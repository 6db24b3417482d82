/**
 * Guarantee 1 holds only if every message the edge accepts can be stored exactly as sent. This feeds
 * the contract's send payload the strings Postgres cannot hold (U+0000 in `text` and `jsonb`, lone
 * surrogates in `jsonb`) next to harmless look-alikes, and checks against a real Postgres, with the
 * column types persistence stores messages in: refused strings are refused with VALIDATION at parse
 * time, and everything accepted round-trips unchanged.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { MessageSendPayload } from '@chat/contracts';
import { createTestDatabase, type TestDatabase } from '@chat/testkit';

let db: TestDatabase;
let pg: Client;
beforeAll(async () => {
  db = await createTestDatabase();
  pg = new Client({ connectionString: db.url });
  await pg.connect();
  await pg.query('create table probe (body text, encrypted jsonb)');
});
afterAll(async () => {
  await pg.end();
  await db.drop();
});

const base = { conversationId: randomUUID(), clientMsgId: randomUUID() };
const encrypted = (over: Record<string, unknown>) => ({
  ...base,
  encrypted: { ciphertext: 'Y2lwaGVy', nonce: 'bm9uY2U=', keyId: 'k1', senderDeviceId: 'd1', ...over },
});

const refused: [string, unknown][] = [
  ['a text body with U+0000', { ...base, body: 'a\u0000b' }],
  ['a text body with a lone high surrogate', { ...base, body: 'a\uD83Db' }],
  ['a text body with a lone low surrogate', { ...base, body: '\uDE00' }],
  ['ciphertext with U+0000', encrypted({ ciphertext: 'x\u0000' })],
  ['a nonce with a lone surrogate', encrypted({ nonce: '\uD800' })],
  ['a key id with U+0000', encrypted({ keyId: '\u0000' })],
  ['a sender device id with a lone surrogate', encrypted({ senderDeviceId: 'd\uDFFF' })],
  ['a recipient device id with U+0000', encrypted({ recipients: [{ deviceId: 'd\u0000', wrappedKey: 'w' }] })],
  ['a wrapped key with a lone surrogate', encrypted({ recipients: [{ deviceId: 'd', wrappedKey: 'w\uD800' }] })],
];

const accepted: [string, Record<string, unknown>][] = [
  ['an emoji (a valid surrogate pair)', { ...base, body: 'hi 😀 \u{1F600}' }],
  ['the escaped text "\\u0000" (backslash, not a NUL)', { ...base, body: '\\u0000' }],
  ['other control characters and U+FFFF', { ...base, body: 'a\u0001\u001F\uFFFF\uFFFEb' }],
  [
    'an encrypted payload with astral characters',
    encrypted({ ciphertext: '𝄞'.repeat(100), recipients: [{ deviceId: 'd', wrappedKey: '😀' }] }),
  ],
];

describe('the send contract accepts only storable strings', () => {
  it.each(refused)('refuses %s', (_what, payload) => {
    const r = MessageSendPayload.safeParse(payload);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message).join(';')).toMatch(/U\+0000 or unpaired surrogates/);
  });

  it.each(accepted)('stores %s exactly as sent', async (_what, payload) => {
    const parsed = MessageSendPayload.parse(payload);
    const body = 'body' in parsed ? parsed.body : null;
    const enc = 'encrypted' in parsed ? parsed.encrypted : null;
    const { rows } = await pg.query('insert into probe (body, encrypted) values ($1, $2) returning body, encrypted', [
      body,
      enc === null ? null : JSON.stringify(enc),
    ]);
    expect(rows[0]).toEqual({ body, encrypted: enc });
  });

  it('Postgres itself refuses what the contract refuses (the reason for the rule)', async () => {
    await expect(pg.query('insert into probe (body) values ($1)', ['a\u0000b'])).rejects.toThrow();
    await expect(
      pg.query('insert into probe (encrypted) values ($1)', [JSON.stringify({ c: '\uD800' })]),
    ).rejects.toThrow();
  });
});
