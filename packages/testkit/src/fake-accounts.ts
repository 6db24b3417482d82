import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface FakeConversation {
  id: string;
  kind: 'direct' | 'room';
  title: string | null;
  createdAt: string;
  members: Array<{ userId: string; role: 'owner' | 'admin' | 'member' }>;
  sendable: boolean;
  /** End-to-end encrypted (sent only when set, as accounts does for its conversations). */
  encrypted?: boolean;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeAccounts {
  url: string;
  /** Adds or replaces a conversation served at `GET /internal/v1/conversations/:id`. */
  conversation(memberIds: string[], opts?: Partial<Omit<FakeConversation, 'members'>>): FakeConversation;
  conversations: Map<string, FakeConversation>;
  /** `GET /internal/v1/users/:id/contacts` and `POST /internal/v1/contacts`. */
  contacts: Map<string, string[]>;
  /** Served at `GET /.well-known/jwks.json` when set. */
  jwks?: unknown;
  /** Every request that was not an internal lookup (what a proxy forwarded). */
  forwarded: RecordedRequest[];
  /** Internal lookups served, by path. */
  lookups: string[];
  /** Answer every request with 503 while true. */
  down: boolean;
  /** Requests answered 503 because `down` was set. */
  refused: number;
  close: () => Promise<void>;
}

/**
 * A real HTTP server standing in for accounts at its internal boundary (`docs/internal-contracts.md`),
 * for tests of services that consume it (gateway, delivery) before or without the real accounts.
 * Any other request is recorded and answered `200 {method, url, body}`, so proxies can be tested.
 */
export async function startFakeAccounts(): Promise<FakeAccounts> {
  const fake: FakeAccounts = {
    url: '',
    conversations: new Map(),
    contacts: new Map(),
    forwarded: [],
    lookups: [],
    down: false,
    refused: 0,
    conversation(memberIds, opts = {}) {
      const c: FakeConversation = {
        id: opts.id ?? randomUUID(),
        kind: opts.kind ?? (memberIds.length === 2 ? 'direct' : 'room'),
        title: opts.title ?? null,
        createdAt: opts.createdAt ?? new Date().toISOString(),
        members: memberIds.map((userId, i) => ({
          userId,
          role: i === 0 && opts.kind !== 'direct' ? 'owner' : 'member',
        })),
        sendable: opts.sendable ?? true,
        ...(opts.encrypted !== undefined ? { encrypted: opts.encrypted } : {}),
      };
      fake.conversations.set(c.id, c);
      return c;
    },
    close: async () => undefined,
  };
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const path = url.split('?')[0]!;
      if (fake.down) {
        fake.refused++;
        return json(res, 503, { error: { code: 'UNAVAILABLE', message: 'down', retryable: true } });
      }
      let m = /^\/internal\/v1\/conversations\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && m) {
        fake.lookups.push(path);
        const c = fake.conversations.get(decodeURIComponent(m[1]!));
        return c
          ? json(res, 200, c)
          : json(res, 404, { error: { code: 'NOT_FOUND', message: 'no such conversation', retryable: false } });
      }
      m = /^\/internal\/v1\/users\/([^/]+)\/contacts$/.exec(path);
      if (req.method === 'GET' && m) {
        fake.lookups.push(path);
        return json(res, 200, { userIds: fake.contacts.get(decodeURIComponent(m[1]!)) ?? [] });
      }
      if (req.method === 'POST' && path === '/internal/v1/contacts') {
        fake.lookups.push(path);
        const { userIds } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { userIds?: string[] };
        return json(res, 200, {
          contacts: Object.fromEntries((userIds ?? []).map((id) => [id, fake.contacts.get(id) ?? []])),
        });
      }
      if (req.method === 'GET' && path === '/.well-known/jwks.json' && fake.jwks) return json(res, 200, fake.jwks);
      const body = Buffer.concat(chunks).toString('utf8');
      fake.forwarded.push({ method: req.method ?? 'GET', url, headers: req.headers, body });
      return json(res, 200, { method: req.method, url, body });
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  fake.url = `http://127.0.0.1:${port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
