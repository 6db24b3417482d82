import type { ChatMessage } from './messages';

/** The local calendar day of a time, as a sortable key. */
export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function dayLabel(iso: string, now: Date = new Date()): string {
  const key = dayKey(iso);
  if (key === dayKey(now.toISOString())) return 'Today';
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1, 12);
  if (key === dayKey(yesterday.toISOString())) return 'Yesterday';
  const d = new Date(iso);
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString(undefined, {
    weekday: sameYear ? 'short' : undefined,
    day: 'numeric',
    month: 'short',
    year: sameYear ? undefined : 'numeric',
  });
}

export function timeLabel(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** The full local date and time, for a tooltip on the short time. */
export function fullTimeLabel(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
}

export type TimelineItem =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'unread'; key: string }
  | { kind: 'message'; key: string; message: ChatMessage; firstOfGroup: boolean };

/**
 * Day separators between messages of different local days; consecutive messages of one sender group
 * (a room event breaks a group). With `unreadBefore`, a "New messages" divider precedes that message.
 */
export function withDaySeparators(
  messages: readonly ChatMessage[],
  keyOf: (m: ChatMessage) => string,
  now: Date = new Date(),
  unreadBefore: string | null = null,
): TimelineItem[] {
  const items: TimelineItem[] = [];
  let day = '';
  let prevSender = '';
  for (const m of messages) {
    const d = dayKey(m.createdAt);
    if (d !== day) {
      items.push({ kind: 'day', key: `day:${d}`, label: dayLabel(m.createdAt, now) });
      day = d;
      prevSender = '';
    }
    if (unreadBefore && m.id === unreadBefore) {
      items.push({ kind: 'unread', key: 'unread' });
      prevSender = '';
    }
    items.push({ kind: 'message', key: keyOf(m), message: m, firstOfGroup: m.senderId !== prevSender });
    prevSender = m.kind === 'event' ? '' : m.senderId;
  }
  return items;
}

/** "last seen 5 min ago" style wording for a friend who is offline. */
export function lastSeenLabel(iso: string | null, now: Date = new Date()): string {
  if (!iso) return 'offline';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (Number.isNaN(s)) return 'offline';
  if (s < 60) return 'last seen just now';
  if (s < 3600) return `last seen ${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `last seen ${Math.floor(s / 3600)} h ago`;
  return `last seen ${new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}`;
}

/** One-line preview of a message for the conversation list. */
export function preview(m: { kind: string; body?: string } | null): string {
  if (!m) return 'No messages yet';
  if (m.kind === 'encrypted') return 'Encrypted message';
  const text = (m.body ?? '').replace(/\s+/g, ' ').trim();
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
