import type { EventPayload } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { internalGet, internalPost } from '@chat/http-kit';

/** Users per contacts request (the route's limit is 1,000). */
const CONTACTS_BATCH = 500;

/** Accounts could not answer: the consumer retries the batch later instead of dead-lettering it. */
export class LookupUnavailable extends Error {
  override name = 'LookupUnavailable';
}

export interface MembersOptions {
  accountsUrl: string;
  logger: Logger;
  maxEntries: number;
  ttlMs: number;
  timeoutMs: number;
}

/**
 * Conversation members, learnt from `conversation.changed` events (full member list after each change)
 * and looked up at accounts on a miss. Every worker gets every membership event on its own queue, so
 * competing workers all stay current.
 */
export class MembersDirectory {
  private readonly cache = new Map<string, { members: string[] | null; at: number }>();
  private readonly inflight = new Map<string, Promise<string[] | null>>();
  private readonly base: string;

  constructor(private readonly opts: MembersOptions) {
    this.base = opts.accountsUrl.replace(/\/$/, '');
  }

  /** Member ids, or null if accounts does not know the conversation. Throws LookupUnavailable. */
  members(conversationId: string): Promise<string[] | null> {
    const hit = this.cache.get(conversationId);
    if (hit && Date.now() - hit.at < this.opts.ttlMs) return Promise.resolve(hit.members);
    let p = this.inflight.get(conversationId);
    if (!p) {
      p = this.lookup(conversationId).finally(() => this.inflight.delete(conversationId));
      this.inflight.set(conversationId, p);
    }
    return p;
  }

  private async lookup(id: string): Promise<string[] | null> {
    const body = await this.getJson<{ members: Array<{ userId: string }> }>(`/internal/v1/conversations/${encodeURIComponent(id)}`);
    const members = body ? body.members.map((m) => m.userId) : null;
    this.put(id, members);
    return members;
  }

  private contactWaiters = new Map<string, Array<{ resolve: (ids: string[]) => void; reject: (err: unknown) => void }>>();

  /**
   * Friends and co-members of a user (presence fan-out); not cached. The lookups asked for in one tick
   * (a batch of presence changes) go to accounts as one request: a burst of a thousand connects is a
   * handful of queries, not a thousand.
   */
  contacts(userId: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const waiters = this.contactWaiters.get(userId);
      if (waiters) return void waiters.push({ resolve, reject });
      this.contactWaiters.set(userId, [{ resolve, reject }]);
      if (this.contactWaiters.size === 1) setImmediate(() => void this.flushContacts());
    });
  }

  private async flushContacts(): Promise<void> {
    const batch = this.contactWaiters;
    this.contactWaiters = new Map();
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += CONTACTS_BATCH) {
      const chunk = ids.slice(i, i + CONTACTS_BATCH);
      try {
        const body = await this.postJson<{ contacts: Record<string, string[]> }>('/internal/v1/contacts', { userIds: chunk });
        for (const id of chunk) for (const w of batch.get(id) ?? []) w.resolve(body.contacts[id] ?? []);
      } catch (err) {
        for (const id of chunk) for (const w of batch.get(id) ?? []) w.reject(err);
      }
    }
  }

  private async postJson<T>(path: string, body: unknown): Promise<T> {
    let res: Response;
    try {
      res = await internalPost(`${this.base}${path}`, body, this.opts.timeoutMs);
    } catch (err) {
      throw new LookupUnavailable(`accounts unreachable: ${(err as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new LookupUnavailable(`accounts answered ${res.status} to ${path}`);
    }
    return (await res.json()) as T;
  }

  private async getJson<T>(path: string): Promise<T | null> {
    let res: Response;
    try {
      res = await internalGet(`${this.base}${path}`, this.opts.timeoutMs);
    } catch (err) {
      throw new LookupUnavailable(`accounts unreachable: ${(err as Error).message}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new LookupUnavailable(`accounts answered ${res.status} to ${path}`);
    }
    return (await res.json()) as T;
  }

  private put(id: string, members: string[] | null): void {
    this.cache.delete(id);
    this.cache.set(id, { members, at: Date.now() });
    if (this.cache.size > this.opts.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  onConversationChanged(e: EventPayload<'conversation.changed'>): void {
    this.put(e.conversation.id, [...e.memberIds]);
  }
}
