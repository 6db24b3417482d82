import { fetchApi } from './fetch-api';
import type { ApiToken, Bot, Conversation, ErrorBody, HistoryPage, Message, Presence, User } from '@chat/contracts';

/** A failed call: the body's coded error (branch on `code`), plus the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Friend {
  user: User;
  since: string;
  online: boolean;
  lastSeenAt: string | null;
  conversationId: string | null;
}
export interface FriendRequests {
  incoming: Array<{ id: string; from: User; createdAt: string }>;
  outgoing: Array<{ id: string; to: User; createdAt: string }>;
}
export interface Session {
  user: User;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/**
 * How a client proves who it is. A bot's API token never changes; a person's access token is
 * refreshed with the refresh token (rotation: one refresh at a time, always keep the newest pair).
 */
export type Credentials =
  { kind: 'bot'; token: string } | { kind: 'session'; accessToken: string; refreshToken: string; expiresAt: number };

/**
 * Typed calls to `/api/v1`. A 401 on a person's session refreshes once (serialised: concurrent
 * callers share one refresh) and retries; `onCredentials` hears every new pair, to persist it.
 */
export class HttpApi {
  private refreshing: Promise<void> | null = null;

  constructor(
    readonly origin: string,
    public credentials: Credentials | null = null,
    private readonly onCredentials: (c: Credentials) => void = () => undefined,
  ) {}

  /** The token to present right now (HTTP bearer and socket `auth.token`). */
  get token(): string | null {
    if (!this.credentials) return null;
    return this.credentials.kind === 'bot' ? this.credentials.token : this.credentials.accessToken;
  }

  async request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
    const { res, text } = await fetchApi(this.origin, method, path, body, this.token);
    const data = text ? (JSON.parse(text) as unknown) : undefined;
    if (res.ok) return data as T;
    const err = (data as ErrorBody | undefined)?.error;
    if (res.status === 401 && !retried && this.credentials?.kind === 'session' && !path.startsWith('/auth/')) {
      await this.refresh();
      return this.request<T>(method, path, body, true);
    }
    throw new ApiError(
      res.status,
      err?.code ?? 'INTERNAL',
      err?.message ?? `HTTP ${res.status}`,
      err?.retryable ?? false,
      err?.retryAfterMs,
    );
  }

  /** Exchanges the refresh token for a new pair; concurrent calls share one exchange. */
  refresh(): Promise<void> {
    const c = this.credentials;
    if (!c || c.kind !== 'session') return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        const r = await this.request<{ accessToken: string; refreshToken: string; expiresIn: number }>(
          'POST',
          '/auth/refresh',
          { refreshToken: c.refreshToken },
        );
        this.setSession(r);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private setSession(r: { accessToken: string; refreshToken: string; expiresIn: number }): void {
    this.credentials = {
      kind: 'session',
      accessToken: r.accessToken,
      refreshToken: r.refreshToken,
      expiresAt: Date.now() + r.expiresIn * 1000,
    };
    this.onCredentials(this.credentials);
  }

  async login(username: string, password: string): Promise<Session> {
    const s = await this.request<Session>('POST', '/auth/login', { username, password });
    this.setSession(s);
    return s;
  }
  async register(username: string, password: string, displayName?: string): Promise<Session> {
    const s = await this.request<Session>('POST', '/auth/register', {
      username,
      password,
      ...(displayName ? { displayName } : {}),
    });
    this.setSession(s);
    return s;
  }
  useBotToken(token: string): void {
    this.credentials = { kind: 'bot', token };
  }

  me = () => this.request<User>('GET', '/me');
  searchUsers = (q: string) => this.request<User[]>('GET', `/users?q=${encodeURIComponent(q)}`);
  presence = (userIds: string[]) => this.request<Presence[]>('GET', `/presence?userIds=${userIds.join(',')}`);
  friends = () => this.request<Friend[]>('GET', '/friends');
  friendRequests = () => this.request<FriendRequests>('GET', '/friends/requests');
  requestFriend = (username: string) =>
    this.request<{ id: string } | Friend>('POST', '/friends/requests', { username });
  acceptFriend = (requestId: string) => this.request<Friend>('POST', `/friends/requests/${requestId}/accept`);
  declineFriend = (requestId: string) => this.request<null>('POST', `/friends/requests/${requestId}/decline`);
  unfriend = (userId: string) => this.request<null>('DELETE', `/friends/${userId}`);
  conversations = () => this.request<Conversation[]>('GET', '/conversations');
  conversation = (id: string) => this.request<Conversation>('GET', `/conversations/${id}`);
  directConversation = (userId: string) => this.request<Conversation>('POST', '/conversations/direct', { userId });
  createRoom = (title: string, memberIds: string[] = []) =>
    this.request<Conversation>('POST', '/conversations/rooms', { title, memberIds });
  addMember = (conversationId: string, userId: string) =>
    this.request<Conversation>('POST', `/conversations/${conversationId}/members`, { userId });
  removeMember = (conversationId: string, userId: string) =>
    this.request<null>('DELETE', `/conversations/${conversationId}/members/${userId}`);
  history = (conversationId: string, q: { before?: string; after?: string; limit?: number } = {}) => {
    const qs = new URLSearchParams(
      Object.entries(q)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]): [string, string] => [k, String(v)]),
    );
    return this.request<HistoryPage>(
      'GET',
      `/conversations/${conversationId}/messages${qs.size ? `?${qs.toString()}` : ''}`,
    );
  };
  createBot = (username: string, displayName?: string) =>
    this.request<Bot>('POST', '/bots', { username, ...(displayName ? { displayName } : {}) });
  bots = () => this.request<Bot[]>('GET', '/bots');
  createBotToken = (botId: string, body: { name: string; scopes?: Array<'read' | 'write'>; expiresInDays?: number }) =>
    this.request<{ token: string; apiToken: ApiToken }>('POST', `/bots/${botId}/tokens`, body);
  botTokens = (botId: string) => this.request<ApiToken[]>('GET', `/bots/${botId}/tokens`);
  revokeBotToken = (botId: string, tokenId: string) => this.request<null>('DELETE', `/bots/${botId}/tokens/${tokenId}`);
}

export type { Message };
