import {
  applyMessage,
  applyRead,
  conversationTitle,
  reapplyLive,
  seenBy,
  sortConversations,
  upsertConversation,
} from './conversations';
import { conv, msg } from './fixtures.test-helpers';

describe('conversation list', () => {
  it('orders by latest activity: last message time, else creation time', () => {
    const a = conv('a', {
      createdAt: '2026-01-01T00:00:00.000Z',
      lastMessage: msg('1', { createdAt: '2026-01-03T00:00:00.000Z' }),
    });
    const b = conv('b', { createdAt: '2026-01-02T00:00:00.000Z' });
    const c = conv('c', { createdAt: '2026-01-01T00:00:00.000Z' });
    expect(sortConversations([c, b, a]).map((x) => x.id)).toEqual(['a', 'b', 'c']);
  });

  it('a new message moves its conversation to the top with the preview; an older one does not replace the preview', () => {
    const list = [conv('a', { createdAt: '2026-01-05T00:00:00.000Z' }), conv('c1')];
    const m = msg('5', { createdAt: '2026-01-06T00:00:00.000Z' });
    const after = applyMessage(list, m, (c) => c.unreadCount + 1);
    expect(after[0]).toMatchObject({ id: 'c1', unreadCount: 1, lastMessage: { id: m.id } });
    const older = applyMessage(after, msg('4'), (c) => c.unreadCount);
    expect(older.find((c) => c.id === 'c1')!.lastMessage!.id).toBe(m.id);
  });

  it('a list loaded while messages arrived live keeps counting those it had not committed yet', () => {
    // The server read the list when message 3 was its newest; 4, 5 and 6 came live meanwhile (6 before 5).
    const snapshot = [conv('c1', { lastMessage: msg('3'), unreadCount: 3 }), conv('c2', { unreadCount: 1 })];
    const live = [msg('2'), msg('4'), msg('6'), msg('5'), msg('6'), msg('7', { senderId: 'me' })];
    const after = reapplyLive(snapshot, live.slice(0, 5), 'me');
    const c1 = after.find((c) => c.id === 'c1')!;
    expect(c1.unreadCount).toBe(6); // 3 counted by the server, 4, 5, 6 once each; 2 already in it
    expect(c1.lastMessage!.id).toBe(msg('6').id);
    expect(after.find((c) => c.id === 'c2')!.unreadCount).toBe(1);
    // My own message means I read up to there.
    expect(reapplyLive(snapshot, live, 'me').find((c) => c.id === 'c1')!.unreadCount).toBe(0);
    // A message of a conversation the snapshot does not list changes nothing.
    expect(reapplyLive(snapshot, [msg('9', { conversationId: 'gone' })], 'me')).toEqual(snapshot);
  });

  it('an update without lastMessage/unreadCount keeps them and keeps read markers moving forward', () => {
    const m = msg('3');
    const list = [
      conv('c1', {
        lastMessage: m,
        unreadCount: 4,
        members: [{ userId: 'me', role: 'owner', lastReadMessageId: msg('2').id }],
      }),
    ];
    const next = upsertConversation(list, {
      id: 'c1',
      kind: 'room',
      title: 'renamed',
      createdAt: list[0]!.createdAt,
      members: [{ userId: 'me', role: 'owner', lastReadMessageId: null }],
    });
    expect(next[0]).toMatchObject({ title: 'renamed', unreadCount: 4, lastMessage: { id: m.id } });
    expect(next[0]!.members[0]!.lastReadMessageId).toBe(msg('2').id);
  });

  it('"Seen by N" counts the other members whose marker reached the message', () => {
    let list = [
      conv('c1', {
        members: [
          { userId: 'me', role: 'owner', lastReadMessageId: null },
          { userId: 'a', role: 'member', lastReadMessageId: null },
          { userId: 'b', role: 'member', lastReadMessageId: null },
        ],
      }),
    ];
    const m = msg('5').id;
    expect(seenBy(list[0]!, 'me', m)).toBe(0);
    list = applyRead(list, 'c1', 'a', msg('6').id);
    list = applyRead(list, 'c1', 'b', msg('4').id);
    expect(seenBy(list[0]!, 'me', m)).toBe(1);
    // a marker never moves back
    list = applyRead(list, 'c1', 'a', msg('1').id);
    expect(seenBy(list[0]!, 'me', m)).toBe(1);
  });

  it('names a direct conversation after the other person', () => {
    const c = conv('d', { kind: 'direct', title: null });
    const users = new Map([['alice', { id: 'alice', username: 'alice', displayName: 'Alice' }]]);
    expect(conversationTitle(c, 'me', users)).toBe('Alice');
    expect(conversationTitle(c, 'me', new Map())).toBe('user alice');
  });
});
