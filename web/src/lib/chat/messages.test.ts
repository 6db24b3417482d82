import {
  addPending,
  markDiscarding,
  markFailed,
  markQueued,
  markUnsaved,
  mergeMessages,
  unsent,
  type ChatMessage,
} from './messages';
import { msg } from './fixtures.test-helpers';

const ids = (l: ChatMessage[]) => l.map((m) => m.id);

describe('mergeMessages', () => {
  it('orders by id whatever order pages and live events arrive in', () => {
    const a = mergeMessages([], [msg('3'), msg('1')]);
    const b = mergeMessages(a.messages, [msg('2')]);
    expect(ids(b.messages)).toEqual([msg('1').id, msg('2').id, msg('3').id]);
  });

  it('drops a message it already holds by id and reports only new ones as added', () => {
    const first = msg('5');
    const a = mergeMessages([], [first]);
    const b = mergeMessages(a.messages, [{ ...first }, msg('6')]);
    expect(b.messages).toHaveLength(2);
    expect(b.added.map((m) => m.id)).toEqual([msg('6').id]);
  });

  it('replaces the optimistic copy of an own message by the server copy (same clientMsgId)', () => {
    const pending = addPending([], {
      conversationId: 'c1',
      senderId: 'me',
      clientMsgId: 'u-1',
      createdAt: '2026-01-01T10:00:00.000Z',
      kind: 'text',
      body: 'hi',
    });
    expect(pending[0]!.status).toBe('pending');
    const server = msg('7', { senderId: 'me', clientMsgId: 'u-1', body: 'hi' });
    const merged = mergeMessages(pending, [server]);
    expect(merged.messages).toHaveLength(1);
    expect(merged.messages[0]).toMatchObject({ id: server.id, status: 'sent' });
    // ack and message:new both deliver it: the second one is a duplicate
    expect(mergeMessages(merged.messages, [server]).messages).toHaveLength(1);
  });

  it('does not confuse equal clientMsgIds of different senders', () => {
    const a = msg('1', { senderId: 'alice', clientMsgId: 'same' });
    const b = msg('2', { senderId: 'bob', clientMsgId: 'same' });
    expect(mergeMessages([], [a, b]).messages).toHaveLength(2);
  });

  it('keeps unsent messages after every server message', () => {
    const p = addPending([], {
      conversationId: 'c1',
      senderId: 'me',
      clientMsgId: 'u-2',
      createdAt: '2026-01-01T09:00:00.000Z',
      kind: 'text',
      body: 'x',
    });
    const merged = mergeMessages(p, [msg('9'), msg('8')]);
    expect(merged.messages.map((m) => m.status)).toEqual(['sent', 'sent', 'pending']);
  });

  it('does not modify its input', () => {
    const start = mergeMessages([], [msg('1')]).messages;
    const copy = JSON.stringify(start);
    mergeMessages(start, [msg('0'), msg('2')]);
    expect(JSON.stringify(start)).toBe(copy);
  });
});

describe('optimistic sends', () => {
  const base = {
    conversationId: 'c1',
    senderId: 'me',
    clientMsgId: 'u-3',
    createdAt: '2026-01-01T10:00:00.000Z',
    kind: 'text' as const,
    body: 'hello',
  };

  it('a failed send is marked failed and a retry (same clientMsgId) puts it back to pending without a copy', () => {
    const failed = markFailed(addPending([], base), 'me', 'u-3', 'unavailable');
    expect(failed[0]).toMatchObject({ status: 'failed', error: 'unavailable' });
    const retried = addPending(failed, base);
    expect(retried).toHaveLength(1);
    expect(retried[0]!.status).toBe('pending');
    expect(unsent(retried)).toHaveLength(1);
  });

  it('a retry after the server already has the message changes nothing', () => {
    const server = msg('4', { senderId: 'me', clientMsgId: 'u-3' });
    const held = mergeMessages([], [server]).messages;
    expect(addPending(held, base)).toEqual(held);
    expect(markFailed(held, 'me', 'u-3', 'late error')[0]!.status).toBe('sent');
  });

  it('a message written offline waits queued, keeps its clientMsgId, and becomes the server copy once sent', () => {
    const queued = addPending([], base, 'queued');
    expect(queued[0]).toMatchObject({ status: 'queued', id: '' });
    const inFlight = addPending(queued, base);
    expect(inFlight[0]!.status).toBe('pending');
    expect(markQueued(markFailed(inFlight, 'me', 'u-3', 'x'), 'me', 'u-3')[0]).toMatchObject({
      status: 'queued',
      error: undefined,
    });
    const sent = mergeMessages(inFlight, [msg('5', { senderId: 'me', clientMsgId: 'u-3' })]).messages;
    expect(sent).toHaveLength(1);
    expect(markQueued(sent, 'me', 'u-3')[0]!.status).toBe('sent');
  });

  it('a discard in progress, then failed, keeps the message failed and says why; a retry clears both', () => {
    const failed = markFailed(addPending([], base), 'me', 'u-3', 'blocked');
    const discarding = markDiscarding(failed, 'me', 'u-3', true);
    expect(discarding[0]).toMatchObject({ status: 'failed', error: 'blocked', discarding: true });
    const kept = markDiscarding(discarding, 'me', 'u-3', { error: 'storage refused' });
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ status: 'failed', error: 'blocked', discardError: 'storage refused' });
    expect(kept[0]!.discarding).toBeUndefined();
    const retried = addPending(kept, base);
    expect(retried[0]!.status).toBe('pending');
    expect(retried[0]!.discardError).toBeUndefined();
    // Another sender's message, or one the server holds, is never marked.
    expect(markDiscarding(failed, 'other', 'u-3', true)[0]!.discarding).toBeUndefined();
    const server = mergeMessages([], [msg('4', { senderId: 'me', clientMsgId: 'u-3' })]).messages;
    expect(markDiscarding(server, 'me', 'u-3', true)[0]!.discarding).toBeUndefined();
  });

  it('a message storage did not keep says so while unsent, through queued and failed, until kept or sent', () => {
    const unsaved = markUnsaved(addPending([], base, 'queued'), 'me', 'u-3', true);
    expect(unsaved[0]).toMatchObject({ status: 'queued', unsaved: true });
    expect(markFailed(unsaved, 'me', 'u-3', 'blocked')[0]).toMatchObject({ status: 'failed', unsaved: true });
    expect(markQueued(markFailed(unsaved, 'me', 'u-3', 'x'), 'me', 'u-3')[0]!.unsaved).toBe(true);
    // Kept after all (a later write committed): the flag goes.
    expect(markUnsaved(unsaved, 'me', 'u-3', false)[0]!.unsaved).toBeUndefined();
    // Sent: the server's copy replaces it, nothing left to lose.
    const sent = mergeMessages(unsaved, [msg('6', { senderId: 'me', clientMsgId: 'u-3' })]).messages;
    expect(sent[0]!.unsaved).toBeUndefined();
    // A message the server holds, or another sender's, is never marked.
    expect(markUnsaved(sent, 'me', 'u-3', true)[0]!.unsaved).toBeUndefined();
    expect(markUnsaved(addPending([], base), 'other', 'u-3', true)[0]!.unsaved).toBeUndefined();
  });
});
