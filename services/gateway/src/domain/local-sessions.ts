/**
 * The users whose sockets this gateway holds, counted per user. Delivery routes by gateway (its
 * session registry learns from this gateway's presence reports and heartbeats), so nothing is bound
 * on the broker per user: a user's first socket here is announced (`presence.reported`, confirmed by
 * the broker before the socket is let in, so a message sent to it right after is routed here), and
 * their last socket's departure is reported the same way.
 */
export class LocalSessions {
  private readonly counts = new Map<string, number>();
  private readonly announcing = new Map<string, Promise<void>>();
  private readonly listeners: Array<(userId: string, present: boolean) => void> = [];
  private announcer: (userId: string, present: boolean) => Promise<void> = async () => undefined;

  /** Who tells delivery (the presence reporter); a failure is logged there and repaired by the next heartbeat. */
  setAnnouncer(fn: (userId: string, present: boolean) => Promise<void>): void {
    this.announcer = fn;
  }

  /** Called on a user's first socket here (`true`) and after their last one went (`false`): typing, metrics. */
  onPresence(listener: (userId: string, present: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Counts a socket of `userId`; resolves once delivery can know the user is here (or the broker is down). */
  acquire(userId: string): Promise<void> {
    const n = (this.counts.get(userId) ?? 0) + 1;
    this.counts.set(userId, n);
    if (n > 1) return this.announcing.get(userId) ?? Promise.resolve();
    for (const l of this.listeners) l(userId, true);
    const p = this.announcer(userId, true).catch(() => undefined);
    this.announcing.set(userId, p);
    void p.finally(() => {
      if (this.announcing.get(userId) === p) this.announcing.delete(userId);
    });
    return p;
  }

  release(userId: string): void {
    const n = this.counts.get(userId);
    if (n === undefined) return;
    if (n > 1) {
      this.counts.set(userId, n - 1);
      return;
    }
    this.counts.delete(userId);
    for (const l of this.listeners) l(userId, false);
    void this.announcer(userId, false).catch(() => undefined);
  }

  users(): string[] {
    return [...this.counts.keys()];
  }

  get userCount(): number {
    return this.counts.size;
  }
}
