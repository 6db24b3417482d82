import { addPending } from './messages';
import { dayLabel, lastSeenLabel, preview, withDaySeparators } from './format';
import { typers, typingLabel, applyTyping, TypingThrottle } from './typing';
import { ApiError, describeError, toApiError } from './errors';

describe('day separators', () => {
  it('puts one separator before each local day', () => {
    const at = (iso: string, id: string) =>
      addPending([], {
        conversationId: 'c',
        senderId: 's',
        clientMsgId: id,
        createdAt: iso,
        kind: 'text',
        body: id,
      })[0]!;
    const items = withDaySeparators(
      [at('2026-01-01T10:00:00', 'a'), at('2026-01-01T11:00:00', 'b'), at('2026-01-02T10:00:00', 'c')],
      (m) => m.clientMsgId,
      new Date('2026-01-02T12:00:00'),
    );
    expect(items.map((i) => i.kind)).toEqual(['day', 'message', 'message', 'day', 'message']);
    expect(items[3]).toMatchObject({ label: 'Today' });
    expect(items[0]).toMatchObject({ label: 'Yesterday' });
    expect(items[2]).toMatchObject({ firstOfGroup: false });
  });
  it('puts the "New messages" divider before the first unread, and a room event breaks a sender group', () => {
    const m = (id: string, over = {}) => ({
      id,
      conversationId: 'c',
      senderId: 's',
      clientMsgId: id,
      createdAt: '2026-01-01T10:00:00',
      kind: 'text' as const,
      body: id,
      status: 'sent' as const,
      ...over,
    });
    const items = withDaySeparators(
      [m('1'), m('2', { kind: 'event', body: undefined }), m('3'), m('4')],
      (x) => x.id,
      new Date('2026-01-01T12:00:00'),
      '4',
    );
    expect(items.map((i) => i.kind)).toEqual(['day', 'message', 'message', 'message', 'unread', 'message']);
    expect(items.filter((i) => i.kind === 'message').map((i) => (i as { firstOfGroup: boolean }).firstOfGroup)).toEqual(
      [true, false, true, true],
    );
  });
  it('labels older days with a date', () => {
    expect(dayLabel('2025-03-01T10:00:00', new Date('2026-01-02T12:00:00'))).not.toMatch(/Today|Yesterday/);
  });
});

describe('labels', () => {
  it('last seen', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(lastSeenLabel(null, now)).toBe('offline');
    expect(lastSeenLabel('2026-01-01T11:59:30Z', now)).toBe('last seen just now');
    expect(lastSeenLabel('2026-01-01T11:50:00Z', now)).toBe('last seen 10 min ago');
    expect(lastSeenLabel('2026-01-01T09:00:00Z', now)).toBe('last seen 3 h ago');
  });
  it('preview keeps text as text and shortens it', () => {
    expect(preview({ kind: 'text', body: '<b>hi</b>\n  there' })).toBe('<b>hi</b> there');
    expect(preview({ kind: 'text', body: 'x'.repeat(200) })).toHaveLength(80);
    expect(preview(null)).toBe('No messages yet');
  });
});

describe('typing', () => {
  it('sends typing:true at most once per interval and false only after a true', () => {
    const t = new TypingThrottle(3000);
    expect(t.onStop()).toBe(false);
    expect(t.onInput(0)).toBe(true);
    expect(t.onInput(1000)).toBe(false);
    expect(t.onInput(3500)).toBe(true);
    expect(t.onStop()).toBe(true);
    expect(t.onInput(3600)).toBe(true);
  });
  it('expires a typing:true after 6 s and ignores my own', () => {
    let map = applyTyping({}, { conversationId: 'c', userId: 'a', typing: true }, 0);
    map = applyTyping(map, { conversationId: 'c', userId: 'me', typing: true }, 0);
    expect(typers(map, 'c', 'me', 1000)).toEqual(['a']);
    expect(typers(map, 'c', 'me', 7000)).toEqual([]);
    map = applyTyping(map, { conversationId: 'c', userId: 'a', typing: false }, 1000);
    expect(typers(map, 'c', 'me', 1000)).toEqual([]);
    expect(typingLabel(['Al', 'Bo'])).toBe('Al and Bo are typing…');
    expect(typingLabel(['a', 'b', 'c'])).toBe('3 people are typing…');
  });
});

describe('error wording', () => {
  it('maps contract error bodies to what the user was doing', () => {
    expect(
      describeError(toApiError(409, { error: { code: 'CONFLICT', message: 'taken', retryable: false } }), 'register'),
    ).toBe('That username is already taken.');
    expect(
      describeError(toApiError(401, { error: { code: 'UNAUTHENTICATED', message: 'bad', retryable: false } }), 'login'),
    ).toBe('Wrong username or password.');
    expect(
      describeError(
        toApiError(429, { error: { code: 'RATE_LIMITED', message: 'slow', retryable: true, retryAfterMs: 30_000 } }),
        'login',
      ),
    ).toBe('Too many attempts. Try again in 30 seconds.');
    expect(describeError(new ApiError('NETWORK', 'offline', 0))).toMatch(/Cannot reach/);
    expect(toApiError(502, '<html>')).toMatchObject({ code: 'UNAVAILABLE', status: 502 });
  });
});
