import { LRUCache } from 'lru-cache';
import { AppError, InternalContacts, InternalConversation, type EventPayload } from '@chat/contracts';
import { internalGet, internalPost } from '@chat/http-kit';
import type { Logger } from '@chat/logger';

/** What the message path needs to know about a conversation. */
export interface ConversationMembership {
  id: string;
  kind: 'direct' | 'room';
  memberIds: ReadonlySet<string>;
  /** False for a direct conversation whose users are no longer friends, or where one blocked the other. */
  sendable: boolean;
  /** End-to-end encrypted: takes `encrypted` payloads only. Once true it stays true (it never reverts). */
  encrypted?: boolean;
}

export interface MembershipClientOptions {
  accountsUrl: string;
  logger: Logger;
  /** Conversations kept (least recently used out first). */
  max: number;
  /** How long an entry is trusted without an event; past it, the next read refreshes it. */
  ttlMs: number;
  timeoutMs: number;
  /** Called for every conversation lookup sent to accounts (a miss, a refresh, an encryption question): a metric. */
  onLookup?: () => void;
}

/** Users per contacts request (the route's limit is 1,000). */
const CONTACTS_BATCH = 500;
/** "Accounts does not know this conversation" is cached too, as this value. */
const UNKNOWN = 'unknown' as const;
type Entry = ConversationMembership | typeof UNKNOWN;

/**
 * Membership and contacts from accounts' internal routes, for every service on the message path: one
 * cache (lru-cache: bounded, TTL, concurrent misses of one conversation share one request), kept
 * current by `conversation.changed` / `friendship.changed` events (`onConversationChanged`,
 * `onUsersChanged`). When accounts cannot answer, an entry past its TTL is still served (stale): live
 * delivery keeps flowing through an accounts or database outage; only a conversation never seen fails,
 * with UNAVAILABLE (retryable).
 */
export class MembershipClient {
  private readonly cache: LRUCache<string, Entry>;
  private readonly base: string;

  constructor(private readonly opts: MembershipClientOptions) {
    this.base = opts.accountsUrl.replace(/\/$/, '');
    this.cache = new LRUCache<string, Entry>({
      max: opts.max,
      ttl: Math.max(1, opts.ttlMs),
      // Past its TTL an entry is served while one refresh runs behind it (stale-while-revalidate): a hot
      // conversation never makes a send or a delivery batch wait for accounts just because a minute
      // passed (events keep entries current; the TTL only bounds an event that was missed). It is kept
      // and served when the refresh fails (accounts down). An entry an event made doubtful (`dirty`) is
      // refreshed before it answers.
      allowStale: true,
      noDeleteOnStaleGet: true,
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      fetchMethod: (id) => this.fetch(id),
    });
  }

  /** The conversation, or null when accounts does not know it. Throws UNAVAILABLE when accounts cannot answer and nothing is cached. */
  async get(conversationId: string): Promise<ConversationMembership | null> {
    // An entry an event made doubtful is refreshed before it answers, for EVERY caller while that
    // refresh is out: a second caller would otherwise get the old entry (served stale while the refresh
    // runs) and, after an unblock, refuse a send as "takes no messages".
    let e: Entry | undefined;
    const refreshing = this.refreshing.get(conversationId);
    if (refreshing) e = await refreshing;
    else if (this.dirty.delete(conversationId)) {
      const p = this.load(conversationId, true);
      this.refreshing.set(conversationId, p);
      try {
        e = await p;
      } finally {
        this.refreshing.delete(conversationId);
      }
    } else e = await this.load(conversationId, false);
    if (e === undefined) throw new AppError('UNAVAILABLE', 'cannot check the conversation right now, try again');
    return e === UNKNOWN ? null : e;
  }

  /**
   * The conversation as accounts has it NOW, whatever the cache holds: asked before refusing a send on
   * a cached entry that says no (unknown, not a member, takes no messages). That entry may predate the
   * change that allows the send (a friendship accepted again, a member added), whose event is still on
   * its way here while the client, told by accounts' HTTP answer or by its own socket, already sends.
   * Concurrent re-checks of one conversation share one lookup; when accounts cannot answer, the entry
   * held answers (as `get`). A refused send costs one lookup: bounded by the send rate limit, and no
   * more than a send to an id never seen costs.
   */
  async recheck(conversationId: string): Promise<ConversationMembership | null> {
    this.dirty.add(conversationId);
    return this.get(conversationId);
  }

  /**
   * One read through the cache (a lookup on a miss, or forced). An event's entry set while the lookup
   * is out replaces it: lru-cache then aborts the lookup and answers it with what it held before (for a
   * miss: nothing, which read as UNAVAILABLE and refused a new pair's first message when the
   * conversation's `created` event came in during that lookup). The entry now held is the answer then.
   */
  private async load(conversationId: string, forceRefresh: boolean): Promise<Entry | undefined> {
    const status: LRUCache.Status<string, Entry> = {};
    const e = await this.cache.fetch(
      conversationId,
      forceRefresh ? { forceRefresh: true, allowStale: false, status } : { status },
    );
    // (A caller that joined a lookup already out gets no status of its own: an empty answer says it.)
    if (e !== undefined && !status.fetchAborted) return e;
    return this.cache.peek(conversationId, { allowStale: true }) ?? e;
  }

  /**
   * Whether a conversation is end-to-end encrypted. Events carry the flag; a conversation known only
   * from an older publisher's event (without it) is looked up once; when accounts cannot answer,
   * unknown counts as not encrypted.
   */
  async encrypted(conversationId: string): Promise<boolean> {
    const c = await this.get(conversationId);
    if (!c) return false;
    if (c.encrypted !== undefined) return c.encrypted === true;
    // Callers while the question is out wait for its answer: answering them "not encrypted" at once
    // would let a plaintext send into an encrypted conversation, and let a later send overtake an
    // earlier one of the same socket (the later one's id sorting first).
    const asking = this.encryptionAsking.get(conversationId);
    if (asking) return asking;
    if (this.encryptionAsked.has(conversationId)) return false;
    // Asked once per entry, and only the flag is taken from the answer (the entry, its members and its
    // TTL stay as the events made them); when accounts cannot answer, unknown counts as not encrypted.
    if (this.encryptionAsked.size > 10_000) this.encryptionAsked.clear();
    const ask = this.fetch(conversationId)
      .catch(() => UNKNOWN)
      .then((fresh) => {
        this.encryptionAsked.add(conversationId);
        if (fresh === UNKNOWN) return false;
        const entry = this.cache.peek(conversationId, { allowStale: true });
        if (entry !== undefined && entry !== UNKNOWN && entry.encrypted === undefined)
          entry.encrypted = fresh.encrypted;
        return fresh.encrypted === true;
      })
      .finally(() => this.encryptionAsking.delete(conversationId));
    this.encryptionAsking.set(conversationId, ask);
    return ask;
  }
  private readonly encryptionAsked = new Set<string>();
  private readonly refreshing = new Map<string, Promise<Entry | undefined>>();
  private readonly encryptionAsking = new Map<string, Promise<boolean>>();

  /** Member ids, or null for a conversation accounts does not know. */
  async members(conversationId: string): Promise<string[] | null> {
    const c = await this.get(conversationId);
    return c ? [...c.memberIds] : null;
  }

  private async fetch(id: string): Promise<Entry> {
    this.opts.onLookup?.();
    let res: Response;
    try {
      res = await internalGet(`${this.base}/internal/v1/conversations/${encodeURIComponent(id)}`, this.opts.timeoutMs);
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message, conversationId: id }, 'accounts lookup failed');
      throw new AppError('UNAVAILABLE', 'cannot check the conversation right now, try again', { cause: err });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return UNKNOWN;
    }
    if (!res.ok) {
      await res.body?.cancel();
      this.opts.logger.warn({ status: res.status, conversationId: id }, 'accounts lookup refused');
      throw new AppError('UNAVAILABLE', 'cannot check the conversation right now, try again');
    }
    const body = InternalConversation.parse(await res.json());
    const prev = this.cache.peek(id, { allowStale: true });
    const encrypted = body.encrypted === true || (prev !== undefined && prev !== UNKNOWN && prev.encrypted === true);
    return {
      id: body.id,
      kind: body.kind,
      memberIds: new Set(body.members.map((m) => m.userId)),
      sendable: body.sendable,
      encrypted,
    };
  }

  /**
   * A conversation changed. Rooms are updated in place from the event's member list; a direct
   * conversation is cached from its `created` event. `encrypted` comes with the event (absent only from
   * an older publisher: then it carries over from the entry, or is asked once by `encrypted()`) and is
   * sticky: a `true` is never undone by an older event still in flight, and a cached `false` flips at
   * once when the event that switches encryption on arrives.
   */
  onConversationChanged(e: EventPayload<'conversation.changed'>): void {
    const id = e.conversation.id;
    const prev = this.cache.peek(id, { allowStale: true });
    const known = prev !== undefined && prev !== UNKNOWN ? prev : undefined;
    const encrypted = known?.encrypted === true || e.encrypted === true ? true : (e.encrypted ?? known?.encrypted);
    if (e.conversation.kind === 'direct') {
      // A direct conversation is created when two users become friends: it takes messages, and its
      // members never change. Cached from the event, so the pair's first message waits for no lookup.
      // A `created` for an entry already cached (a worker gets it on two queues, or after a lookup) only
      // adds the flag.
      if (e.type === 'created' && !known) {
        this.cache.set(id, { id, kind: 'direct', memberIds: new Set(e.memberIds), sendable: true, encrypted });
        this.encryptionAsked.delete(id);
        return;
      }
      if (!known) {
        if (prev === UNKNOWN) this.dirty.add(id);
        return;
      }
      if (encrypted !== undefined) known.encrypted = encrypted;
      // Nothing else of a direct conversation changes by this event (`sendable` follows friendships:
      // `onUsersChanged`); an older publisher's event without the flag is looked up again on the next
      // read (the old entry answers if accounts cannot).
      if (e.type !== 'created' && e.encrypted === undefined) this.dirty.add(id);
      return;
    }
    this.cache.set(id, { id, kind: 'room', memberIds: new Set(e.memberIds), sendable: true, encrypted });
    if (encrypted === undefined) this.encryptionAsked.delete(id);
  }

  /** Unfriending or blocking changes whether the pair's direct conversations take new messages. */
  onUsersChanged(userIds: string[]): void {
    for (const id of this.cache.keys()) {
      const info = this.cache.peek(id, { allowStale: true });
      if (
        info !== undefined &&
        info !== UNKNOWN &&
        info.kind === 'direct' &&
        userIds.some((u) => info.memberIds.has(u))
      )
        this.dirty.add(id);
    }
  }

  /** Entries an event made doubtful: refreshed on their next read, still served if the refresh fails. */
  private readonly dirty = new Set<string>();

  get size(): number {
    return this.cache.size;
  }

  private contactWaiters = new Map<
    string,
    Array<{ resolve: (ids: string[]) => void; reject: (err: unknown) => void }>
  >();

  /**
   * Friends and co-members of a user (presence fan-out); not cached. The lookups asked for in one tick
   * go to accounts as one request: a burst of a thousand connects is a handful of queries.
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
        const body = await this.postContacts(chunk);
        for (const id of chunk) for (const w of batch.get(id) ?? []) w.resolve(body.contacts[id] ?? []);
      } catch (err) {
        for (const id of chunk) for (const w of batch.get(id) ?? []) w.reject(err);
      }
    }
  }

  private async postContacts(userIds: string[]): Promise<InternalContacts> {
    let res: Response;
    try {
      res = await internalPost(`${this.base}/internal/v1/contacts`, { userIds }, this.opts.timeoutMs);
    } catch (err) {
      throw new AppError('UNAVAILABLE', 'contacts lookup failed, try again', { cause: err });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new AppError('UNAVAILABLE', `contacts lookup failed (accounts answered ${res.status})`);
    }
    return InternalContacts.parse(await res.json());
  }
}
