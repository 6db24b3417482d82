import type { ChannelModel } from 'amqplib';
import type { Logger } from '@chat/logger';
import type { ActiveConsumer } from './consumer';

/**
 * A connection that is up but no longer of use, and its renewal. amqplib's recovery reconnects only when
 * a connection closes or errors; nothing in amqplib (or from the broker) signals a channel that keeps
 * being nacked or a consumer that receives nothing more. Both were seen on a cluster (RabbitMQ 3.10):
 * after the node leading a quorum queue dies, channels on a surviving node may go on being nacked for
 * that queue, or starved, while fresh channels work. Closing the connection hands it to amqplib's
 * recovery, which reconnects and runs the Broker's set-up again: fresh channels, consumers registered
 * with the new leader.
 */

/** How often idle consumers are checked against their queue's ready messages. */
const STALL_CHECK_MS = 10_000;
/** At most one reconnect per this interval because of nacks. */
const NACK_RECONNECT_EVERY_MS = 5_000;

export interface StaleConnectionHost {
  /** The current connection; null while there is none, or once the broker is closing. */
  connection(): ChannelModel | null;
  isConnected(): boolean;
  consumers(): Iterable<ActiveConsumer>;
  logger: Logger;
}

export class StaleConnectionWatch {
  private timer: NodeJS.Timeout | undefined;
  private lastNackReconnect = 0;

  constructor(private readonly host: StaleConnectionHost) {}

  /** Starts the stalled-consumer check (once connected). */
  start(): void {
    this.timer = setInterval(() => void this.checkStalled(), STALL_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * A nack means the broker could not enqueue the message. On a channel that stayed up through a quorum
   * leader's death it may go on for that queue, so a nack renews the connection (at most every few
   * seconds); the sender gets a retryable refusal and its retry goes out on fresh channels.
   */
  onNack(): void {
    const m = this.host.connection();
    if (!m || Date.now() - this.lastNackReconnect < NACK_RECONNECT_EVERY_MS) return;
    this.lastNackReconnect = Date.now();
    this.host.logger.warn('publish refused by the broker; reconnecting with fresh channels');
    m.close().catch(() => undefined);
  }

  /**
   * A consumer idle for a whole check interval while its queue holds ready messages is stalled: its
   * connection stayed on another node than the dead leader's and receives nothing more. Reconnecting
   * gets the messages flowing; they were never lost, only not delivered.
   */
  private async checkStalled(): Promise<void> {
    const m = this.host.connection();
    if (!this.host.isConnected() || !m) return;
    const stalled = [...this.host.consumers()].filter((c) => {
      const idle = c.idleSince();
      return idle !== null && Date.now() - idle >= STALL_CHECK_MS;
    });
    if (stalled.length === 0) return;
    // Its own channel: a failed check must not close a channel the service uses.
    const ch = await m.createChannel().catch(() => null);
    if (!ch) return;
    ch.on('error', () => undefined);
    try {
      const ready = async (queue: string) =>
        ch.checkQueue(queue).then(
          (q) => q.messageCount,
          () => 0,
        );
      for (const c of stalled) {
        if ((await ready(c.queue)) === 0) continue;
        // A message just published may be on its way to the consumer: look again a moment later.
        await new Promise((r) => setTimeout(r, 1_000));
        const n = await ready(c.queue);
        if (n > 0 && c.idleSince() !== null && this.host.connection() === m) {
          this.host.logger.warn({ queue: c.queue, ready: n }, 'consumer stalled with messages ready; reconnecting');
          m.close().catch(() => undefined);
          return;
        }
      }
    } finally {
      await ch.close().catch(() => undefined);
    }
  }
}
