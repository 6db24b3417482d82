import { AppError, type EventPayload } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { internalGet } from '@chat/http-kit';

/** What the gateway needs to know to accept a send: who is in, and whether new messages are allowed. */
export interface ConversationInfo {
  id: string;
  kind: 'direct' | 'room';
  memberIds: Set<string>;
  sendable: boolean;
}

interface InternalConversation {
  id: string;
  kind: 'direct' | 'room';
  members: Array<{ userId: string }>;
  sendable: boolean;
}

export interface DirectoryOptions {
  accountsUrl: string;
  logger: Logger;
  maxEntries: number;
  ttlMs: number;
  timeoutMs: number;
}

/**
 * Conversations looked up at accounts' internal route and cached in memory. Membership events update
 * the cache; anything else that changes `sendable` (unfriend, block) invalidates the direct
 * conversations of those users; a TTL bounds how stale a missed event can leave an entry.
 */
export class ConversationDirectory {
  private readonly cache = new Map<string, { info: ConversationInfo | null; at: number }>();
  private readonly inflight = new Map<string, Promise<ConversationInfo | null>>();
  private readonly base: string;

  constructor(private readonly opts: DirectoryOptions) {
    this.base = opts.accountsUrl.replace(/\/$/, '');
  }

  /** The conversation, or null when accounts does not know it. Throws UNAVAILABLE when accounts cannot answer. */
  async get(id: string): Promise<ConversationInfo | null> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < this.opts.ttlMs) return hit.info;
    let p = this.inflight.get(id);
    if (!p) {
      p = this.fetch(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  private async fetch(id: string): Promise<ConversationInfo | null> {
    let res: Response;
    try {
      res = await internalGet(`${this.base}/internal/v1/conversations/${encodeURIComponent(id)}`, this.opts.timeoutMs);
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message, conversationId: id }, 'accounts lookup failed');
      throw new AppError('UNAVAILABLE', 'cannot check the conversation right now, try again', { cause: err });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      this.put(id, null);
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      this.opts.logger.warn({ status: res.status, conversationId: id }, 'accounts lookup refused');
      throw new AppError('UNAVAILABLE', 'cannot check the conversation right now, try again');
    }
    const body = (await res.json()) as InternalConversation;
    const info: ConversationInfo = { id: body.id, kind: body.kind, memberIds: new Set(body.members.map((m) => m.userId)), sendable: body.sendable };
    this.put(id, info);
    return info;
  }

  private put(id: string, info: ConversationInfo | null): void {
    this.cache.delete(id);
    this.cache.set(id, { info, at: Date.now() });
    if (this.cache.size > this.opts.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  /** A membership change: rooms are updated in place; a direct conversation is looked up again. */
  onConversationChanged(e: EventPayload<'conversation.changed'>): void {
    const id = e.conversation.id;
    if (e.conversation.kind === 'direct') {
      this.cache.delete(id);
      return;
    }
    this.put(id, { id, kind: 'room', memberIds: new Set(e.memberIds), sendable: true });
  }

  /** Unfriending or blocking changes whether the pair's direct conversation takes new messages. */
  onUsersChanged(userIds: string[]): void {
    for (const [id, entry] of this.cache) {
      const info = entry.info;
      if (info?.kind === 'direct' && userIds.some((u) => info.memberIds.has(u))) this.cache.delete(id);
    }
  }

  get size(): number {
    return this.cache.size;
  }
}
