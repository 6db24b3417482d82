/** What the tracker asks to publish: one `typing.changed`. */
export type TypingPublish = (conversationId: string, userId: string, typing: boolean) => Promise<void>;

export interface TypingOptions {
  publish: TypingPublish;
  /** A `typing: true` refresh is forwarded at most this often (3 s). */
  refreshMs: number;
  /** A `typing: true` not refreshed within this expires: the tracker publishes `false` (6 s). */
  expireMs: number;
}

interface State {
  publishedAt: number;
  timer: NodeJS.Timeout;
}

const keyOf = (userId: string, conversationId: string) => `${userId}\u0000${conversationId}`;

/**
 * Per (user, conversation) typing state on this gateway. State changes go out at once; refreshes of
 * `true` at most every `refreshMs`, so a client hammering `typing` makes a handful of deliveries. A
 * `true` expires by itself, and is cleared when the user sends in that conversation or their last
 * socket here goes, so an indicator never sticks. Only `true` states are held: memory is bounded by
 * who is typing right now.
 */
export class TypingTracker {
  private readonly states = new Map<string, State & { userId: string; conversationId: string }>();

  constructor(private readonly opts: TypingOptions) {}

  /** Applies a client's `typing`; resolves once what it published is confirmed (null if nothing was). */
  /** Whether `set` would publish (a state change or a due refresh): what the typing limit counts. */
  wouldPublish(userId: string, conversationId: string, typing: boolean, now = Date.now()): boolean {
    const cur = this.states.get(keyOf(userId, conversationId));
    if (!typing) return cur !== undefined;
    return !(cur && now - cur.publishedAt < this.opts.refreshMs);
  }

  set(userId: string, conversationId: string, typing: boolean, now = Date.now()): Promise<void> | null {
    const k = keyOf(userId, conversationId);
    const cur = this.states.get(k);
    if (!typing) return cur ? this.clear(k) : null;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => void this.clear(k)?.catch(() => undefined), this.opts.expireMs);
    timer.unref();
    if (cur && now - cur.publishedAt < this.opts.refreshMs) {
      cur.timer = timer;
      return null;
    }
    this.states.set(k, { userId, conversationId, publishedAt: now, timer });
    return this.opts.publish(conversationId, userId, true);
  }

  /** The user sent a message in the conversation: their indicator there goes away. */
  sent(userId: string, conversationId: string): void {
    void this.clear(keyOf(userId, conversationId))?.catch(() => undefined);
  }

  /** The user's last socket on this gateway went: every indicator of theirs goes away. */
  userGone(userId: string): void {
    for (const [k, s] of this.states) if (s.userId === userId) void this.clear(k)?.catch(() => undefined);
  }

  private clear(k: string): Promise<void> | null {
    const s = this.states.get(k);
    if (!s) return null;
    clearTimeout(s.timer);
    this.states.delete(k);
    return this.opts.publish(s.conversationId, s.userId, false);
  }

  /** Stops every timer without publishing (shutdown). */
  close(): void {
    for (const s of this.states.values()) clearTimeout(s.timer);
    this.states.clear();
  }

  get size(): number {
    return this.states.size;
  }
}
