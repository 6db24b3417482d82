/** Keeps "typing: true" alive without flooding: at most one per interval while the user types. */
export class TypingThrottle {
  private lastSentAt = -Infinity;
  private active = false;

  constructor(private readonly intervalMs = 3000) {}

  /** Call on each keystroke; true when a `typing: true` should be sent now. */
  onInput(now: number): boolean {
    if (this.active && now - this.lastSentAt < this.intervalMs) return false;
    this.active = true;
    this.lastSentAt = now;
    return true;
  }

  /** Call on send or blur; true when a `typing: false` should be sent (only if true was sent). */
  onStop(): boolean {
    const was = this.active;
    this.active = false;
    this.lastSentAt = -Infinity;
    return was;
  }
}

/** Who is typing where: conversationId -> userId -> expiry time (ms). */
export type TypingMap = Record<string, Record<string, number>>;

/** The server expires an unrefreshed `typing: true` after 6 s; the client does the same. */
export const TYPING_TTL_MS = 6000;

export function applyTyping(
  map: TypingMap,
  e: { conversationId: string; userId: string; typing: boolean },
  now: number,
): TypingMap {
  const conv = { ...(map[e.conversationId] ?? {}) };
  if (e.typing) conv[e.userId] = now + TYPING_TTL_MS;
  else delete conv[e.userId];
  return { ...map, [e.conversationId]: conv };
}

export function typers(map: TypingMap, conversationId: string, me: string, now: number): string[] {
  return Object.entries(map[conversationId] ?? {})
    .filter(([userId, until]) => userId !== me && until > now)
    .map(([userId]) => userId)
    .sort();
}

export function typingLabel(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
