/**
 * The newest `read` this gateway saw per (user, conversation), so a backward read is not broadcast
 * (persistence would not move the marker back anyway). An LRU of bounded size: forgetting an entry
 * only means one backward read may be forwarded, which persistence ignores.
 */
export class ReadCursors {
  private readonly last = new Map<string, string>();

  constructor(private readonly maxEntries: number) {}

  /** True if `messageId` is not after the newest read seen (ids sort in acceptance order). */
  behind(userId: string, conversationId: string, messageId: string): boolean {
    const prev = this.last.get(`${userId}\u0000${conversationId}`);
    return prev !== undefined && messageId <= prev;
  }

  /** Records a read once it was published. */
  record(userId: string, conversationId: string, messageId: string): void {
    const k = `${userId}\u0000${conversationId}`;
    const prev = this.last.get(k);
    if (prev !== undefined && messageId <= prev) return;
    this.last.delete(k);
    this.last.set(k, messageId);
    if (this.last.size > this.maxEntries) this.last.delete(this.last.keys().next().value!);
  }
}
