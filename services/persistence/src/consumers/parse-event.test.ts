import { randomUUID } from 'node:crypto';
import { parseEvent } from './parse-event';
import { dedupe } from '../repositories/messages.repository';
import { furthest } from '../repositories/read-markers.repository';
import { readConfig } from '../config';

const id = (n: number) => `01JD${String(n).padStart(22, '0')}`;
const msg = (over: Record<string, unknown> = {}) => ({
  id: id(1),
  conversationId: randomUUID(),
  senderId: randomUUID(),
  clientMsgId: randomUUID(),
  createdAt: new Date().toISOString(),
  kind: 'text',
  body: 'hi',
  ...over,
});
const envelope = (type: string, payload: unknown) => ({
  v: 1,
  type,
  id: randomUUID(),
  occurredAt: new Date().toISOString(),
  traceId: 't',
  payload,
});

describe('parseEvent', () => {
  it('accepts a text and an encrypted message', () => {
    expect(parseEvent(envelope('message.created', msg())).type).toBe('message.created');
    const enc = msg({
      kind: 'encrypted',
      body: undefined,
      encrypted: { ciphertext: 'c', nonce: 'n', keyId: 'k', senderDeviceId: 'd' },
    });
    expect(parseEvent(envelope('message.created', enc)).type).toBe('message.created');
    const roomEvent = msg({ kind: 'event', body: undefined, event: { type: 'joined', userId: randomUUID() } });
    expect(parseEvent(envelope('message.created', roomEvent)).type).toBe('message.created');
  });
  it.each([
    ['a text message without body', msg({ body: undefined })],
    [
      'a text message with a ciphertext',
      msg({ encrypted: { ciphertext: 'c', nonce: 'n', keyId: 'k', senderDeviceId: 'd' } }),
    ],
    ['an encrypted message without ciphertext', msg({ kind: 'encrypted', body: undefined })],
    ['a room event without its event', msg({ kind: 'event', body: undefined })],
    ['a room event with a body', msg({ kind: 'event', event: { type: 'left', userId: randomUUID() } })],
    ['a text message carrying a room event', msg({ event: { type: 'left', userId: randomUUID() } })],
    ['an unknown room event type', msg({ kind: 'event', body: undefined, event: { type: 'exploded' } })],
    ['a bad createdAt', msg({ createdAt: 'yesterday' })],
    ['a bad id', msg({ id: 'x' })],
  ])('refuses %s', (_what, payload) => {
    expect(() => parseEvent(envelope('message.created', payload))).toThrow();
  });
  it('refuses a read event with a bad time', () => {
    expect(() =>
      parseEvent(
        envelope('message.read', { conversationId: randomUUID(), userId: randomUUID(), messageId: id(1), at: 'now' }),
      ),
    ).toThrow();
  });
});

describe('batch reductions', () => {
  it('dedupe keeps the first of repeated ids and of repeated sender + clientMsgId', () => {
    const a = msg({ id: id(1) });
    const resend = { ...a, id: id(2) };
    const b = msg({ id: id(3) });
    expect(dedupe([a, resend, b, a, b] as never).map((m) => m.id)).toEqual([id(1), id(3)]);
  });
  it('furthest keeps the greatest message id per reader and conversation', () => {
    const c = randomUUID();
    const u: string = randomUUID();
    const ev = (n: number, userId = u) => ({ conversationId: c, userId, messageId: id(n), at: '' });
    expect(furthest([ev(5), ev(9), ev(2), ev(1, 'other')]).map((e) => e.messageId)).toEqual([id(9), id(1)]);
  });
});

describe('config', () => {
  it('has the documented defaults', () => {
    expect(readConfig({})).toMatchObject({
      PORT: 8082,
      ACCOUNTS_URL: 'http://127.0.0.1:8081',
      JWKS_URL: 'http://127.0.0.1:8081/.well-known/jwks.json',
      PERSISTENCE_BATCH: 500,
      PERSISTENCE_PREFETCH: 1000,
    });
  });
  it('names every bad variable', () => {
    expect(() => readConfig({ DATABASE_URL: 'mysql://x', PERSISTENCE_BATCH: '0' })).toThrow(
      /DATABASE_URL.*PERSISTENCE_BATCH|PERSISTENCE_BATCH.*DATABASE_URL/,
    );
  });
});
