import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  ClientToServerEvents,
  Conversation,
  ConversationEvent,
  E2eEvent,
  EventMeta,
  FriendsEvent,
  Message,
  Presence,
  ReadEvent,
  ServerToClientEvents,
  SessionEvent,
  TypingEvent,
} from '@chat/contracts';
import { Emitter } from './emitter';
import { ApiError, HttpApi, type Credentials, type Friend, type FriendRequests } from './http';

/** The smallest message id: the cursor of a conversation whose history was empty (`after=` it = everything). */
export const ZERO_CURSOR = '00000000000000000000000000';

export interface Snapshot {
  friends: Friend[];
  requests: FriendRequests;
  conversations: Conversation[];
}

export interface ChatClientEvents extends Record<string, unknown[]> {
  /** Every message exactly once, live or from history (deduplicated by id and by sender + clientMsgId). */
  message: [Message];
  friends: [FriendsEvent];
  conversation: [ConversationEvent];
  presence: [Presence];
  typing: [TypingEvent];
  read: [ReadEvent];
  /** End-to-end encryption: a commit (or a welcome) waits; pass it to `E2EDevice.onEvent`. */
  e2e: [E2eEvent];
  /** Each connection's session: `resumed` true means the missed events were replayed. */
  session: [SessionEvent];
  /** State re-fetched over HTTP: on the first connection and whenever a resume was refused. */
  resync: [Snapshot];
  disconnected: [string];
  error: [unknown];
}

export interface ChatClientOptions {
  origin: string;
  /** A bot's API token (`cbt_...`). Or log in with `ChatClient.login`. */
  botToken?: string;
  credentials?: Credentials;
  /** Hears every new token pair of a person's session, to store it. */
  onCredentials?: (c: Credentials) => void;
  /** Cursors persisted from a previous run (conversation id → message id). */
  cursors?: Record<string, string>;
  /** A conversation without a cursor: fetch its whole history ('all', default) or only the newest page. */
  initialHistory?: 'all' | 'latest';
  sendTimeoutMs?: number;
  sendAttempts?: number;
  /** Socket.IO transports; websocket only by default. */
  transports?: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uuid = () => globalThis.crypto.randomUUID();
type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * A client of the public API that keeps itself whole: it reconnects (refreshing a person's token, or
 * with a bot's API token), resumes its socket session so missed events are replayed, resyncs over
 * HTTP when the gateway cannot resume (a restart), follows per-conversation history cursors, and
 * resends with the same `clientMsgId` until a send's outcome is known.
 */
export class ChatClient extends Emitter<ChatClientEvents> {
  readonly http: HttpApi;
  /** The last sync cursor per conversation: persist `cursors()` to resume history where you left off. */
  private readonly cursorMap = new Map<string, string>();
  private readonly seenIds = new Set<string>();
  private readonly seenKeys = new Set<string>();
  private readonly catchingUp = new Map<string, Promise<void>>();
  private readonly knownConversations = new Map<string, Conversation>();
  private socket: ChatSocket | null = null;
  private sessionId: string | null = null;
  private lastSeq = 0;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private retryDelay = 250;
  private readyPromise: Promise<void> | null = null;
  /** Counters for whoever watches: sessions resumed, resyncs, events replayed. */
  readonly stats = { resumed: 0, resyncs: 0, events: 0 };

  constructor(private readonly opts: ChatClientOptions) {
    super();
    this.http = new HttpApi(
      opts.origin,
      opts.credentials ?? (opts.botToken ? { kind: 'bot', token: opts.botToken } : null),
      (c) => {
        this.scheduleRefresh();
        opts.onCredentials?.(c);
      },
    );
    for (const [k, v] of Object.entries(opts.cursors ?? {})) this.cursorMap.set(k, v);
  }

  /** A person's client: logs in, then `connect()`. */
  static async login(
    opts: Omit<ChatClientOptions, 'botToken' | 'credentials'> & { username: string; password: string },
  ): Promise<ChatClient> {
    const c = new ChatClient(opts);
    await c.http.login(opts.username, opts.password);
    return c;
  }

  get userId(): string | null {
    return this.me?.id ?? null;
  }
  private me: { id: string } | null = null;

  cursors(): Record<string, string> {
    return Object.fromEntries(this.cursorMap);
  }

  conversations(): Conversation[] {
    return [...this.knownConversations.values()];
  }

  /** Opens the socket; resolves once connected and the first sync is done. */
  connect(): Promise<void> {
    if (this.readyPromise) return this.readyPromise;
    this.closed = false;
    this.readyPromise = (async () => {
      this.me = await this.http.me();
      const firstSync = new Promise<void>((resolve, reject) => {
        const offOk = this.once('resync', () => {
          offErr();
          resolve();
        });
        const offErr = this.once('error', (e) => {
          offOk();
          reject(e instanceof Error ? e : new Error(String(e)));
        });
      });
      this.openSocket();
      await firstSync;
    })();
    return this.readyPromise;
  }

  private openSocket(): void {
    const socket: ChatSocket = io(this.opts.origin, {
      // A function: every (re)connection presents the current token and the session to resume.
      auth: (cb) =>
        cb({
          token: this.http.token,
          resumable: true,
          ...(this.sessionId ? { resume: { sessionId: this.sessionId, seq: this.lastSeq } } : {}),
        }),
      transports: this.opts.transports ?? ['websocket'],
      reconnectionDelay: 250,
      reconnectionDelayMax: 5_000,
    });
    this.socket = socket;
    socket.on('session', (s) => this.onSession(s));
    socket.onAny((event: string, payload: unknown, meta?: EventMeta) => {
      if (event === 'session') return;
      if (meta?.seq !== undefined) {
        if (meta.seq <= this.lastSeq) return; // already processed (a replay overlapping what arrived)
        this.lastSeq = meta.seq;
      }
      this.stats.events++;
      this.onEvent(event, payload);
    });
    socket.on('connect', () => {
      this.retryDelay = 250;
    });
    socket.on('disconnect', (reason) => {
      this.emit('disconnected', reason);
      // The server closed it (token expiry, shutdown, a takeover): Socket.IO does not retry by itself.
      if (reason === 'io server disconnect' && !this.closed) this.retry();
    });
    socket.on('connect_error', (err: Error & { data?: { error?: { code?: string } } }) => {
      const code = err.data?.error?.code;
      if (!code) {
        // A transport error: the manager retries by itself while `active`; otherwise we do.
        if (!socket.active) this.retry();
        return;
      }
      if (code === 'UNAUTHENTICATED' && this.http.credentials?.kind === 'session') {
        this.http.refresh().then(
          () => this.retry(0),
          (e: unknown) => this.emit('error', e),
        );
        return;
      }
      if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
        this.emit('error', new ApiError(401, code, err.message, false));
        return;
      }
      this.retry();
    });
  }

  private retry(delay = this.retryDelay): void {
    if (this.closed || this.retryTimer) return;
    this.retryDelay = Math.min(this.retryDelay * 2, 5_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && this.socket && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  private scheduleRefresh(): void {
    const c = this.http.credentials;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (!c || c.kind !== 'session') return;
    // Early (a minute, or a fifth of a short lifetime): the socket that dies at its handshake token's
    // expiry reconnects with the fresh token and resumes.
    const left = c.expiresAt - Date.now();
    this.refreshTimer = setTimeout(
      () => void this.http.refresh().catch((e: unknown) => this.emit('error', e)),
      Math.max(1_000, left - Math.min(60_000, left / 5)),
    );
    (this.refreshTimer as { unref?: () => void }).unref?.();
  }

  private onSession(s: SessionEvent): void {
    const first = this.sessionId === null;
    this.sessionId = s.sessionId;
    if (s.resumed) {
      this.stats.resumed++;
      this.emit('session', s);
      return;
    }
    this.lastSeq = 0;
    this.emit('session', s);
    if (!first) this.stats.resyncs++;
    // A new session: whatever happened while disconnected is only in HTTP state and history.
    void this.sync().catch((e: unknown) => this.emit('error', e));
  }

  private onEvent(event: string, payload: unknown): void {
    switch (event) {
      case 'message:new':
        this.deliver(payload as Message);
        return;
      case 'conversation': {
        const e = payload as ConversationEvent;
        const isMe = e.type === 'member_removed' && e.userId === this.userId;
        if (isMe) this.knownConversations.delete(e.conversation.id);
        else if (e.conversation.id) {
          const known = this.knownConversations.has(e.conversation.id);
          this.knownConversations.set(e.conversation.id, e.conversation as Conversation);
          // A conversation just joined may already hold history: catch up from its start.
          if (!known) void this.catchUp(e.conversation.id).catch((err: unknown) => this.emit('error', err));
        }
        this.emit('conversation', e);
        return;
      }
      case 'resync':
        // The gateway's broker connection came back: live events may be missing. Catch up over HTTP.
        this.stats.resyncs++;
        void this.sync().catch((e: unknown) => this.emit('error', e));
        return;
      case 'friends':
      case 'presence':
      case 'typing':
      case 'read':
      case 'e2e':
        (this.emit as (e: string, p: unknown) => void)(event, payload);
        return;
      default:
        return;
    }
  }

  private deliver(m: Message): void {
    const key = `${m.senderId}:${m.clientMsgId}`;
    if (this.seenIds.has(m.id) || this.seenKeys.has(key)) return;
    this.seenIds.add(m.id);
    this.seenKeys.add(key);
    this.emit('message', m);
  }

  /** Re-fetches friends, requests and conversations, then every conversation's history after its cursor. */
  async sync(): Promise<Snapshot> {
    const [friends, requests, conversations] = await Promise.all([
      this.http.friends(),
      this.http.friendRequests(),
      this.http.conversations(),
    ]);
    this.knownConversations.clear();
    for (const c of conversations) this.knownConversations.set(c.id, c);
    await Promise.all(conversations.map((c) => this.catchUp(c.id)));
    const snapshot = { friends, requests, conversations };
    this.emit('resync', snapshot);
    return snapshot;
  }

  /** History after the conversation's cursor, page by page; only history pages move the cursor. */
  catchUp(conversationId: string): Promise<void> {
    const prev = this.catchingUp.get(conversationId) ?? Promise.resolve();
    const next = prev.then(async () => {
      let cursor = this.cursorMap.get(conversationId);
      if (!cursor && this.opts.initialHistory === 'latest') {
        const page = await this.http.history(conversationId, { limit: 100 });
        page.messages.forEach((m) => this.deliver(m));
        cursor = page.messages.at(-1)?.id;
      }
      // No cursor (or an empty conversation): the zero id, so `after=` returns everything from the start.
      cursor ??= ZERO_CURSOR;
      for (;;) {
        const page = await this.http.history(conversationId, { after: cursor, limit: 100 });
        page.messages.forEach((m) => this.deliver(m));
        if (page.messages.length) cursor = page.messages.at(-1)!.id;
        if (!page.hasMore) break;
      }
      this.cursorMap.set(conversationId, cursor);
    });
    this.catchingUp.set(
      conversationId,
      next.catch(() => undefined),
    );
    return next;
  }

  private async connected(): Promise<ChatSocket> {
    for (;;) {
      if (this.closed || !this.socket) throw new ApiError(0, 'UNAVAILABLE', 'the client is closed', false);
      if (this.socket.connected) return this.socket;
      await new Promise<void>((resolve) => {
        const s = this.socket!;
        const done = () => {
          s.off('connect', done);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(done, 1_000);
        s.on('connect', done);
      });
    }
  }

  /**
   * Sends a text message and resolves with it once durable. A timeout, a dropped socket or
   * `UNAVAILABLE` resends with the **same** `clientMsgId` and `resend: true` (never a duplicate);
   * `RATE_LIMITED` waits.
   */
  async send(conversationId: string, body: string, clientMsgId: string = uuid()): Promise<Message> {
    const attempts = this.opts.sendAttempts ?? 20;
    let delay = 200;
    // Once an attempt's outcome is unknown (no answer, or UNAVAILABLE), the next ones say `resend`: the
    // server then acks the id history keeps, even if that attempt went through another gateway.
    let resend = false;
    for (let attempt = 1; ; attempt++) {
      const socket = await this.connected();
      const payload = resend ? { conversationId, clientMsgId, body, resend } : { conversationId, clientMsgId, body };
      let ack: Ack<{ message: Message }>;
      try {
        ack = (await socket.timeout(this.opts.sendTimeoutMs ?? 5_000).emitWithAck('message:send', payload)) as Ack<{
          message: Message;
        }>;
      } catch {
        if (attempt >= attempts) throw new ApiError(0, 'UNAVAILABLE', 'send outcome unknown after retries', true);
        resend = true;
        continue; // outcome unknown: resend the same clientMsgId
      }
      if (ack.ok) {
        this.seenIds.add(ack.message.id);
        this.seenKeys.add(`${ack.message.senderId}:${ack.message.clientMsgId}`);
        return ack.message;
      }
      const e = ack.error;
      if (!e.retryable || attempt >= attempts) throw new ApiError(0, e.code, e.message, e.retryable, e.retryAfterMs);
      if (e.code === 'UNAVAILABLE') resend = true;
      await sleep(e.retryAfterMs ?? delay);
      delay = Math.min(delay * 2, 5_000);
    }
  }

  /** Marks everything up to `messageId` read (acked; throws the coded error). */
  async markRead(conversationId: string, messageId: string): Promise<void> {
    const ack = (await (
      await this.connected()
    )
      .timeout(5_000)
      .emitWithAck('read', { conversationId, messageId })) as Ack;
    if (!ack.ok) throw new ApiError(0, ack.error.code, ack.error.message, ack.error.retryable);
  }

  /** For tests and tools: drop the transport as a network failure would (the client resumes). */
  simulateDrop(): void {
    (this.socket?.io as unknown as { engine?: { close: () => void } } | undefined)?.engine?.close();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.socket?.disconnect();
    this.socket = null;
    this.readyPromise = null;
  }
}
