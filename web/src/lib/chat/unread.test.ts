import { countUnread, firstUnreadId, maxId, tabTitle, totalUnread, unreadAfterMessage } from './unread';
import { msg } from './fixtures.test-helpers';

describe('unread arithmetic', () => {
  it('sums the badges and shows them in the tab title', () => {
    const n = totalUnread([{ unreadCount: 2 }, { unreadCount: 0 }, { unreadCount: 5 }]);
    expect(n).toBe(7);
    expect(tabTitle('Chat', n)).toBe('(7) Chat');
    expect(tabTitle('Chat', 0)).toBe('Chat');
    expect(tabTitle('Chat', 120)).toBe('(99+) Chat');
  });

  it("counts another member's message unless it is seen as it arrives; an own message resets", () => {
    expect(unreadAfterMessage(2, { senderId: 'alice' }, 'me', false)).toBe(3);
    expect(unreadAfterMessage(2, { senderId: 'alice' }, 'me', true)).toBe(0);
    expect(unreadAfterMessage(2, { senderId: 'me' }, 'me', false)).toBe(0);
  });

  it('counts the loaded messages of others after the read marker', () => {
    const l = [msg('1'), msg('2', { senderId: 'me' }), msg('3'), msg('4')];
    expect(countUnread(l, 'me', msg('2').id)).toBe(2);
    expect(countUnread(l, 'me', null)).toBe(3);
  });

  it('room events are never unread, and the "New messages" divider skips them and own messages', () => {
    expect(unreadAfterMessage(2, { senderId: 'alice', kind: 'event' }, 'me', false)).toBe(2);
    const l = [msg('1'), msg('2', { senderId: 'me' }), msg('3', { kind: 'event' }), msg('4'), msg('5')];
    expect(countUnread(l, 'me', msg('1').id)).toBe(2);
    expect(firstUnreadId(l, 'me', msg('1').id)).toBe(msg('4').id);
    expect(firstUnreadId(l, 'me', null)).toBe(msg('1').id);
    expect(firstUnreadId(l, 'me', msg('5').id)).toBeNull();
  });

  it('maxId keeps the later id', () => {
    expect(maxId('01B', '01A')).toBe('01B');
    expect(maxId(null, '01A')).toBe('01A');
    expect(maxId(undefined, null)).toBeNull();
  });
});
