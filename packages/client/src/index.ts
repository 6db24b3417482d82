import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '@chat/contracts';
import { fetchApi } from './sdk/fetch-api';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface BenchUser {
  id: string;
  username: string;
  token: string;
}

/** A minimal client of the public API: what any script with fetch can do. */
export class Api {
  constructor(readonly origin: string) {}

  async call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const { res, text } = await fetchApi(this.origin, method, path, body, token);
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A request function for the signed-in user, in the shape the end-to-end layer takes
   * (`E2EDevice.open({ request })`, from `@chat/client/e2e`): failures throw with the API's error `code`.
   */
  requester(token: string) {
    return async <T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> => {
      const { res, text } = await fetchApi(this.origin, method, path, body, token);
      const json = text ? (JSON.parse(text) as { error?: { code?: string; message?: string } }) : undefined;
      if (!res.ok)
        throw Object.assign(new Error(`${method} ${path}: ${res.status} ${json?.error?.message ?? text}`), {
          code: json?.error?.code ?? 'INTERNAL',
          status: res.status,
        });
      return json as T;
    };
  }

  async register(prefix: string, i: number): Promise<BenchUser> {
    const username = `${prefix}_${i}`.slice(0, 32);
    const r = await this.call<{ user: { id: string }; accessToken: string }>('POST', '/auth/register', {
      username,
      password: 'bench-password-1',
    });
    return { id: r.user.id, username, token: r.accessToken };
  }

  /** Makes a and b friends and returns their direct conversation id. */
  async befriend(a: BenchUser, b: BenchUser): Promise<string> {
    await this.call('POST', '/friends/requests', { username: b.username }, a.token);
    const reqs = await this.call<{ incoming: Array<{ id: string; from: { id: string } }> }>(
      'GET',
      '/friends/requests',
      undefined,
      b.token,
    );
    const req = reqs.incoming.find((r) => r.from.id === a.id);
    if (!req) throw new Error('friend request not found');
    await this.call('POST', `/friends/requests/${req.id}/accept`, undefined, b.token);
    const conv = await this.call<{ id: string }>('POST', '/conversations/direct', { userId: b.id }, a.token);
    return conv.id;
  }

  async room(owner: BenchUser, memberIds: string[]): Promise<string> {
    const r = await this.call<{ id: string }>(
      'POST',
      '/conversations/rooms',
      { title: 'bench room', memberIds },
      owner.token,
    );
    return r.id;
  }

  /** Every message of a conversation, following the sync cursor. */
  async history(conversationId: string, token: string): Promise<Array<{ id: string; clientMsgId: string }>> {
    const all: Array<{ id: string; clientMsgId: string }> = [];
    let page = await this.call<{ messages: Array<{ id: string; clientMsgId: string }>; hasMore: boolean }>(
      'GET',
      `/conversations/${conversationId}/messages?limit=100`,
      undefined,
      token,
    );
    // Go back to the start with `before`, then nothing is left to sync.
    all.unshift(...page.messages);
    while (page.hasMore && page.messages.length) {
      page = await this.call(
        'GET',
        `/conversations/${conversationId}/messages?limit=100&before=${page.messages[0]!.id}`,
        undefined,
        token,
      );
      all.unshift(...page.messages);
    }
    return all;
  }

  connect(token: string): Promise<ChatSocket> {
    const s: ChatSocket = io(this.origin, {
      auth: { token },
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    return new Promise((resolve, reject) => {
      s.once('connect', () => resolve(s));
      s.once('connect_error', (err) => reject(err));
    });
  }
}

export const newClientMsgId = () => randomUUID();

export async function inBatches<T, R>(items: T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map((it, j) => fn(it, i + j)))));
  }
  return out;
}

// The SDK: typed HTTP, a self-healing socket client (resume, resync, cursors, resend). See README.md.
export { ApiError, HttpApi, type Credentials, type Friend, type FriendRequests, type Session } from './sdk/http';
export { ChatClient, ZERO_CURSOR, type ChatClientEvents, type ChatClientOptions, type Snapshot } from './sdk/client';
