import { randomUUID } from 'node:crypto';
import { AppError, type Ack } from '@chat/contracts';
import { silentLogger } from '@chat/logger';
import { dispatch, type HandlerTable, type SocketContext } from './handler-table';

const ctx: SocketContext = { userId: randomUUID(), username: 'u', socketId: 's1', logger: silentLogger() };

function table(calls: string[], fail?: Error): HandlerTable {
  return {
    'message:send': {
      ackRequired: true,
      handle: async (_c, p) => {
        calls.push(`send:${p.conversationId}`);
        if (fail) throw fail;
        return { message: { id: 'x' } };
      },
    },
    typing: { ackRequired: false, handle: async (_c, p) => (calls.push(`typing:${p.typing}`), {}) },
    read: { ackRequired: false, handle: async () => (calls.push('read'), {}) },
  };
}

async function call(t: HandlerTable, event: unknown, ...payloads: unknown[]): Promise<Ack<object> | undefined> {
  let res: Ack<object> | undefined;
  await dispatch(t, ctx, event, [...payloads, (r: Ack<object>) => (res = r)]);
  return res;
}

const send = () => ({ conversationId: randomUUID(), clientMsgId: randomUUID(), body: 'hi' });

describe('dispatch through the handler table', () => {
  it('hands a valid payload to its handler and acks its result', async () => {
    const calls: string[] = [];
    const p = send();
    expect(await call(table(calls), 'message:send', p)).toEqual({ ok: true, message: { id: 'x' } });
    expect(calls).toEqual([`send:${p.conversationId}`]);
  });

  it.each([
    ['an unknown event', 'nope', [{}]],
    ['a non-string event name', 42, [{}]],
    ['a prototype key as event name', 'constructor', [{}]],
    ['a string payload', 'message:send', ['not json']],
    ['a number payload', 'message:send', [7]],
    ['a null payload', 'message:send', [null]],
    ['an array payload', 'message:send', [[send()]]],
    ['a binary payload', 'message:send', [Buffer.from('{}')]],
    ['no payload', 'message:send', []],
    ['two payloads', 'message:send', [send(), send()]],
    ['a missing field', 'message:send', [{ conversationId: randomUUID(), body: 'hi' }]],
    ['a wrong type', 'message:send', [{ ...send(), body: 42 }]],
    ['an empty body', 'message:send', [{ ...send(), body: '' }]],
    ['a blank body', 'message:send', [{ ...send(), body: '   ' }]],
    ['4,001 characters', 'message:send', [{ ...send(), body: 'a'.repeat(4001) }]],
    ['a malformed conversation id', 'message:send', [{ ...send(), conversationId: 'abc' }]],
    ['an unknown field', 'message:send', [{ ...send(), extra: 1 }]],
    [
      'both body and encrypted',
      'message:send',
      [{ ...send(), encrypted: { ciphertext: 'a', nonce: 'b', keyId: 'c', senderDeviceId: 'd' } }],
    ],
    ['a malformed message id', 'read', [{ conversationId: randomUUID(), messageId: 'x' }]],
    ['typing not boolean', 'typing', [{ conversationId: randomUUID(), typing: 'yes' }]],
  ])('answers VALIDATION to %s without calling a handler', async (_what, event, payloads) => {
    const calls: string[] = [];
    const res = await call(table(calls), event, ...(payloads as unknown[]));
    expect(res).toMatchObject({ ok: false, error: { code: 'VALIDATION', retryable: false } });
    expect(typeof (res as { error: { message: string } }).error.message).toBe('string');
    expect(calls).toEqual([]);
  });

  it('counts characters as code points: 4,000 emoji pass', async () => {
    const calls: string[] = [];
    const res = await call(table(calls), 'message:send', { ...send(), body: '😀'.repeat(4000) });
    expect(res).toMatchObject({ ok: true });
  });

  it('ignores an event without the ack its contract requires', async () => {
    const calls: string[] = [];
    const outcomes: string[] = [];
    await dispatch(table(calls), ctx, 'message:send', [send()], (_e, o) => outcomes.push(o));
    expect(calls).toEqual([]);
    expect(outcomes).toEqual(['ignored']);
  });

  it('runs an event whose ack is optional without one', async () => {
    const calls: string[] = [];
    await dispatch(table(calls), ctx, 'typing', [{ conversationId: randomUUID(), typing: true }]);
    expect(calls).toEqual(['typing:true']);
  });

  it('ignores bad input without an ack, and never throws', async () => {
    await expect(dispatch(table([]), ctx, 'nope', ['x'])).resolves.toBeUndefined();
  });

  it('turns an AppError into its coded ack', async () => {
    const res = await call(
      table([], new AppError('RATE_LIMITED', 'slow down', { retryAfterMs: 50 })),
      'message:send',
      send(),
    );
    expect(res).toEqual({
      ok: false,
      error: { code: 'RATE_LIMITED', message: 'slow down', retryable: true, retryAfterMs: 50 },
    });
  });

  it('masks an unexpected failure as INTERNAL', async () => {
    const res = await call(table([], new Error('secret detail')), 'message:send', send());
    expect(res).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'internal error', retryable: false } });
  });
});
