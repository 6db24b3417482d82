import { AppError, type Message } from '@chat/contracts';

interface Entry {
  /** The socket of this gateway that sent it (spared the echo); absent when another gateway accepted it. */
  socketId?: string;
  message: Promise<Message>;
}

/** A clientMsgId is used for one conversation only. */
export const reused = () => new AppError('CONFLICT', 'this clientMsgId was already used for another conversation');

/** What a retry publishes under: the id (and acceptance time) an earlier attempt or the broker used. */
export interface Reuse {
  id: string;
  createdAt: string;
}

/**
 * Recent sends keyed by (senderId, clientMsgId), bounded (oldest out first). A retry of a
 * send gets the message as first accepted (same id), even while the first attempt is still waiting for
 * the broker. The id of a failed attempt (the broker did not confirm in time: it may still have it) is
 * kept, so the retry is published under the SAME id. Sends seen on the broker (`learn`, the gateway's
 * events queue: its own and other gateways') give their id to a resend through this gateway, which is
 * published again under it: a copy on the broker proves the message was routed, not that it is durable
 * (only its publisher's confirm says that), so it never stands for an ack. Publishing again under the
 * same id is harmless: history keeps one row per (sender, clientMsgId), and `firstDelivery` keeps the
 * recipients' sockets on this gateway from getting the second copy.
 */
export class RecentSends {
  private readonly entries: Bounded<Entry>;
  /** Ids handed out by attempts of this gateway that failed, or seen on the broker: reused by a retry. */
  private readonly reuse: Bounded<Reuse & { conversationId?: string }>;
  /** Message ids this gateway emitted to its sockets (a republished send is delivered again). */
  private readonly delivered: Bounded<true>;

  constructor(max: number) {
    this.entries = new Bounded(max);
    this.reuse = new Bounded(max);
    this.delivered = new Bounded(max);
  }

  static key(senderId: string, clientMsgId: string): string {
    return `${senderId}:${clientMsgId}`;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** Whether a retry of this send would reuse an id (an attempt of this gateway failed, or the broker carried it). */
  knows(key: string): boolean {
    return this.entries.has(key) || this.reuse.has(key);
  }

  /**
   * Runs `accept` unless the same send is already known. `accept` gets the id an earlier failed attempt
   * used, or that the broker was seen carrying, if any, and must publish under it. A failed attempt is
   * forgotten (but its id kept) so a retry runs again. A send known (here or seen on the broker) for
   * ANOTHER conversation than `conversationId` is refused with CONFLICT (a clientMsgId is used once).
   */
  acceptOnce(
    key: string,
    socketId: string,
    accept: (reuse: Reuse | undefined) => Promise<Message>,
    conversationId?: string,
  ): Promise<Message> {
    const other = (c: string | undefined) => conversationId !== undefined && c !== undefined && c !== conversationId;
    const known = this.entries.get(key);
    if (known) return known.message.then((m) => (other(m.conversationId) ? Promise.reject(reused()) : m));
    const reuse = this.reuse.get(key);
    if (other(reuse?.conversationId)) return Promise.reject(reused());
    const message = accept(reuse && { id: reuse.id, createdAt: reuse.createdAt });
    this.entries.set(key, { socketId, message });
    message.then(
      () => this.reuse.delete(key),
      () => {
        if (this.entries.get(key)?.message === message) this.entries.delete(key);
      },
    );
    return message;
  }

  /** The id an attempt is about to publish under: kept if the attempt fails. */
  reserve(key: string, m: Reuse): void {
    this.reuse.set(key, { id: m.id, createdAt: m.createdAt });
  }

  /**
   * A message seen on the broker (routed: its copy reached this gateway's events queue; durable or not
   * is its publisher's confirm to say). Its id is kept for a later resend through this gateway, which
   * publishes again under it; while an attempt of this gateway is pending, that attempt decides, and if
   * it fails its retry publishes under the id the broker has seen. Treating the copy as an accepted
   * message (answering the resend with it, publishing nothing) acked messages that were never stored:
   * on a 3-node cluster, kill -9 of the node leading persistence's queue, a publish the broker nacked
   * still reached this gateway's own (classic) events queue, and the client's retry was answered from
   * that copy (CI: an acked id missing from history). A send of this gateway that succeeded keeps its
   * entry: nothing to learn.
   */
  learn(m: Message): void {
    const key = RecentSends.key(m.senderId, m.clientMsgId);
    if (this.entries.has(key) && !this.reuse.has(key)) return;
    this.reuse.set(key, { id: m.id, createdAt: m.createdAt, conversationId: m.conversationId });
  }

  /** True the first time a message id is emitted here; a send published again is not emitted twice. */
  firstDelivery(id: string): boolean {
    if (this.delivered.has(id)) return false;
    this.delivered.set(id, true);
    return true;
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
