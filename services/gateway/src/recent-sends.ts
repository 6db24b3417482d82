import type { Message } from '@chat/contracts';

interface Entry {
  socketId: string;
  message: Promise<Message>;
}

/**
 * The sends this gateway accepted recently, keyed by (senderId, clientMsgId), bounded (oldest out
 * first). A retry of a send returns the message as first accepted (same id), even while the first
 * attempt is still waiting for the broker. It also remembers which socket sent it, so the gateway can
 * spare that socket the echo (it has the ack). Persistence's unique key covers what this forgets.
 */
export class RecentSends {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly max: number) {}

  static key(senderId: string, clientMsgId: string): string {
    return `${senderId}:${clientMsgId}`;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** Runs `accept` unless the same send is already known; a failed attempt is forgotten so a retry runs again. */
  acceptOnce(key: string, socketId: string, accept: () => Promise<Message>): Promise<Message> {
    const known = this.entries.get(key);
    if (known) return known.message;
    const message = accept();
    this.entries.set(key, { socketId, message });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    message.catch(() => {
      if (this.entries.get(key)?.message === message) this.entries.delete(key);
    });
    return message;
  }

  get size(): number {
    return this.entries.size;
  }
}
