import type { Channel } from 'amqplib';
import type { Logger } from '@chat/logger';
import { EXCHANGES, userRoutingKey } from '@chat/messaging';

/** The broker calls this gateway's per-instance queue: deliveries for the users it holds. */
export const deliveryQueueName = (instanceId: string) => `gateway.${instanceId}`;
/** The same instance's own copy of the domain events that update its caches. */
export const eventsQueueName = (instanceId: string) => `gateway.${instanceId}.events`;

/**
 * Which users this gateway holds sockets for, mirrored as bindings of its delivery queue: bound on the
 * first socket of a user, unbound after the last. Operations on one user run in order, and each applies
 * the state wanted when it runs, so a quick connect/disconnect/connect ends bound. While the broker is
 * down nothing is applied; `bindAll` re-creates every binding on reconnect.
 */
export class UserBindings {
  private readonly counts = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Resumable sessions waiting for their socket: the binding stays, presence does not (socket/sessions.ts). */
  private readonly holds = new Map<string, number>();
  private channel: () => Channel | null = () => null;
  private readonly listeners: Array<(userId: string, present: boolean) => void> = [];

  constructor(
    readonly queue: string,
    private readonly logger: Logger,
  ) {}

  attach(channel: () => Channel | null): void {
    this.channel = channel;
  }

  /** Called on a user's first socket here (`true`) and after their last one went (`false`): presence and typing. */
  onPresence(listener: (userId: string, present: boolean) => void): void {
    this.listeners.push(listener);
  }

  private notify(userId: string, present: boolean): void {
    for (const l of this.listeners) l(userId, present);
  }

  /** Counts a socket of `userId`; resolves once the user's binding is in place (or the broker is down). */
  acquire(userId: string): Promise<void> {
    const n = (this.counts.get(userId) ?? 0) + 1;
    this.counts.set(userId, n);
    if (n === 1) this.notify(userId, true);
    return n === 1 ? this.enqueue(userId) : (this.chains.get(userId) ?? Promise.resolve());
  }

  release(userId: string): void {
    if (!this.counts.has(userId)) return;
    const n = (this.counts.get(userId) ?? 0) - 1;
    if (n > 0) {
      this.counts.set(userId, n);
      return;
    }
    this.counts.delete(userId);
    this.notify(userId, false);
    if (!this.holds.has(userId)) void this.enqueue(userId);
  }

  /** Keeps the user's binding without counting as a socket (no presence): a session awaiting a resume. */
  hold(userId: string): void {
    const n = (this.holds.get(userId) ?? 0) + 1;
    this.holds.set(userId, n);
    if (n === 1 && !this.counts.has(userId)) void this.enqueue(userId);
  }

  unhold(userId: string): void {
    const n = (this.holds.get(userId) ?? 0) - 1;
    if (n > 0) {
      this.holds.set(userId, n);
      return;
    }
    if (!this.holds.delete(userId)) return;
    if (!this.counts.has(userId)) void this.enqueue(userId);
  }

  private wanted(userId: string): boolean {
    return this.counts.has(userId) || this.holds.has(userId);
  }

  private enqueue(userId: string): Promise<void> {
    const prev = this.chains.get(userId) ?? Promise.resolve();
    const next = prev.then(() => this.apply(userId));
    this.chains.set(userId, next);
    void next.finally(() => {
      if (this.chains.get(userId) === next) this.chains.delete(userId);
    });
    return next;
  }

  private async apply(userId: string): Promise<void> {
    const ch = this.channel();
    if (!ch) return;
    const key = userRoutingKey(userId);
    try {
      if (this.wanted(userId)) await ch.bindQueue(this.queue, EXCHANGES.deliveries, key);
      else await ch.unbindQueue(this.queue, EXCHANGES.deliveries, key);
    } catch (err) {
      // The connection is going away: recovery calls bindAll with the state wanted then.
      this.logger.warn({ err: (err as Error).message, userId }, 'delivery binding not applied');
    }
  }

  /** Binds every held user, on (re)connect, on the set-up channel. */
  async bindAll(ch: Channel): Promise<void> {
    const all = new Set([...this.counts.keys(), ...this.holds.keys()]);
    await Promise.all([...all].map((u) => ch.bindQueue(this.queue, EXCHANGES.deliveries, userRoutingKey(u))));
  }

  users(): string[] {
    return [...this.counts.keys()];
  }

  get userCount(): number {
    return this.counts.size;
  }
}

/** Per-instance topology, declared on every (re)connect before the consumers start. */
export async function applyInstanceTopology(ch: Channel, instanceId: string, bindings: UserBindings): Promise<void> {
  // Exclusive and auto-delete: the queue lives exactly as long as this gateway's connection.
  await ch.assertQueue(deliveryQueueName(instanceId), { exclusive: true, autoDelete: true, durable: false });
  const events = eventsQueueName(instanceId);
  await ch.assertQueue(events, { exclusive: true, autoDelete: true, durable: false });
  await ch.bindQueue(events, EXCHANGES.events, 'conversation.changed');
  await ch.bindQueue(events, EXCHANGES.events, 'friendship.changed');
  await bindings.bindAll(ch);
}
