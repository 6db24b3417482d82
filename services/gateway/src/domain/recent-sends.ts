import type { Message } from '@chat/contracts';

interface Entry {
  /** The socket of this gateway that sent it (spared the echo); absent when another gateway accepted it. */
  socketId?: string;
  message: Promise<Message>;
}

/**
 * Recent sends keyed by (senderId, clientMsgId), bounded (oldest out first). A retry of a
 * send gets the message as first accepted (same id), even while the first attempt is still waiting for
 * the broker. The id of a failed attempt (the broker did not confirm in time: it may still have it) is
 * kept, so the retry is published under the SAME id. Sends accepted by OTHER gateways are learnt from
 * the broker (`learn`, the gateway's events queue): a resend through another gateway after a crash
 * gets the first id too, without publishing again.
 */
export class RecentSends {
  private readonly entries: Bounded<Entry>;
  /** Ids handed out by attempts that failed: reused by the retry. */
  private readonly ids: Bounded<string>;

  constructor(max: number) {
    this.entries = new Bounded(max);
    this.ids = new Bounded(Math.max(1, Math.ceil(max / 10)));
  }

  static key(senderId: string, clientMsgId: string): string {
    return `${senderId}:${clientMsgId}`;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /**
   * Runs `accept` unless the same send is already known. `accept` gets the id an earlier failed attempt
   * used, if any, and must publish under it. A failed attempt is forgotten (but its id kept) so a retry runs again.
   */
  acceptOnce(
    key: string,
    socketId: string,
    accept: (reuseId: string | undefined) => Promise<Message>,
  ): Promise<Message> {
    const known = this.entries.get(key);
    if (known) return known.message;
    const message = accept(this.ids.get(key));
    this.entries.set(key, { socketId, message });
    message.then(
      () => this.ids.delete(key),
      () => {
        if (this.entries.get(key)?.message === message) this.entries.delete(key);
      },
    );
    return message;
  }

  /** The id an attempt is about to publish under: kept if the attempt fails. */
  reserve(key: string, id: string): void {
    this.ids.set(key, id);
  }

  /**
   * A message seen on the broker (routed: its copy reached this gateway's events queue; durable or not
   * is its publisher's confirm to say). A later resend of it gets it back. While an attempt of this
   * gateway for the same send is still pending, that attempt decides: if it fails (the broker did not
   * confirm: the copy may come from a publish a lost node never made durable), its retry must publish
   * again, under the id the broker has seen, so that id is kept for it. Forgetting it there made the
   * retry take a fresh id while history kept the first (seen once on a 3-node cluster after kill -9 of
   * the node leading persistence's queue: the acked id was not in history).
   */
  learn(m: Message): void {
    const key = RecentSends.key(m.senderId, m.clientMsgId);
    if (this.entries.has(key)) {
      if (this.ids.has(key)) this.ids.set(key, m.id);
      return;
    }
    this.entries.set(key, { message: Promise.resolve(m) });
    this.ids.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * A Map bounded to `max` keys, the oldest inserted out first. Every send touches it several times
 * (accept, reserve, learn from the broker, the delivery's echo check), so it is a plain insertion-ordered
 * Map: a resend comes soon after its send, so insertion order is as good as recency here, at a fraction
 * of an LRU's bookkeeping.
 */
class Bounded<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  set(key: string, value: V): void {
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  delete(key: string): boolean {
    return this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}
