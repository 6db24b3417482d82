import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { useStack, type ServiceName } from './stack';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
interface OpenApiDoc {
  paths: Record<string, Partial<Record<Method, { responses?: Record<string, unknown> }>>>;
}

/**
 * Every HTTP route of the public contract's table (shared API.md), in OpenAPI path form, with the
 * service that owns it (docs/internal-contracts.md). Copied here on purpose: the test must fail when a
 * service stops documenting (or serving) one of them.
 */
const CONTRACT_ROUTES: Array<[Method, string, 'accounts' | 'persistence']> = [
  ['post', '/api/v1/auth/register', 'accounts'],
  ['post', '/api/v1/auth/login', 'accounts'],
  ['post', '/api/v1/auth/refresh', 'accounts'],
  ['post', '/api/v1/auth/logout', 'accounts'],
  ['get', '/api/v1/me', 'accounts'],
  ['get', '/api/v1/users', 'accounts'],
  ['get', '/api/v1/friends', 'accounts'],
  ['get', '/api/v1/friends/requests', 'accounts'],
  ['post', '/api/v1/friends/requests', 'accounts'],
  ['post', '/api/v1/friends/requests/{id}/accept', 'accounts'],
  ['post', '/api/v1/friends/requests/{id}/decline', 'accounts'],
  ['delete', '/api/v1/friends/requests/{id}', 'accounts'],
  ['delete', '/api/v1/friends/{userId}', 'accounts'],
  ['post', '/api/v1/blocks', 'accounts'],
  ['delete', '/api/v1/blocks/{userId}', 'accounts'],
  ['get', '/api/v1/conversations', 'accounts'],
  ['post', '/api/v1/conversations/direct', 'accounts'],
  ['post', '/api/v1/conversations/rooms', 'accounts'],
  ['post', '/api/v1/conversations/{id}/members', 'accounts'],
  ['delete', '/api/v1/conversations/{id}/members/{userId}', 'accounts'],
  ['patch', '/api/v1/conversations/{id}', 'accounts'],
  ['get', '/api/v1/conversations/{id}/messages', 'persistence'],
  ['get', '/api/v1/presence', 'accounts'],
  ['put', '/api/v1/keys/devices/{deviceId}', 'accounts'],
  ['get', '/api/v1/users/{id}/devices', 'accounts'],
];

const root = join(__dirname, '..', '..');
const methods = (doc: OpenApiDoc) =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
/** A concrete URL for an OpenAPI path: every `{param}` becomes a fresh UUID. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, () => randomUUID());
/** The "no such route" answers of the service error handler and of the gateway's proxy guard. */
const isNoRoute = (body: { error?: { message?: string } }) => /^no (such )?route/.test(body.error?.message ?? '');

/** A request with the path sent byte for byte (fetch would resolve `..` and `%2e%2e` before sending). */
function raw(
  origin: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: { error?: { code?: string; message?: string } } }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, method, path, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('OpenAPI documents of the running services', () => {
  const { stack } = useStack();
  const docs = new Map<ServiceName, OpenApiDoc>();

  const port = (name: ServiceName) => stack.procs.find((p) => p.name === name)!.port;
  const docOf = async (name: ServiceName, base = `http://127.0.0.1:${port(name)}`): Promise<OpenApiDoc> => {
    const res = await fetch(`${base}/docs/json`);
    expect(res.status).toBe(200);
    return (await res.json()) as OpenApiDoc;
  };

  beforeAll(async () => {
    for (const name of ['accounts', 'persistence'] as const) docs.set(name, await docOf(name));
  });

  it.each(CONTRACT_ROUTES)('%s %s is documented by %s, with its error responses', (method, path, owner) => {
    const op = docs.get(owner)!.paths[path]?.[method];
    expect(op).toBeDefined();
    // Every route answers at least a validation or authentication error; its schema says which.
    const codes = Object.keys(op!.responses ?? {});
    expect(codes.some((c) => c.startsWith('2'))).toBe(true);
    expect(codes.some((c) => c === '400' || c === '401')).toBe(true);
  });

  it('serves every contract route through the public origin (no "no route" answer)', async () => {
    const missing: string[] = [];
    for (const [method, path] of CONTRACT_ROUTES) {
      const res = await fetch(`${stack.origin()}${concrete(path)}`, {
        method: method.toUpperCase(),
        ...(method === 'get' || method === 'delete'
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: '{}' }),
      });
      const body = res.status === 204 ? {} : ((await res.json()) as { error?: { message?: string } });
      if (res.status === 404 && isNoRoute(body)) missing.push(`${method.toUpperCase()} ${path}`);
      expect(res.status).toBeLessThan(500);
    }
    expect(missing).toEqual([]);
  });

  it('keeps /internal routes off the public origin (and out of its document)', async () => {
    const internal = (['accounts', 'persistence'] as const).flatMap((name) =>
      Object.entries(docs.get(name)!.paths)
        .filter(([path]) => path.startsWith('/internal/'))
        .flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ name, method: m.toUpperCase(), path }))),
    );
    // The ones docs/internal-contracts.md names, at least: an empty list would make this test vacuous.
    expect(internal.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      expect.arrayContaining([
        'GET /internal/v1/conversations/{id}',
        'GET /internal/v1/users/{id}/contacts',
        'GET /internal/v1/users/{id}/conversations',
        'POST /internal/v1/summaries',
        'POST /internal/v1/messages/claim',
      ]),
    );
    const body = JSON.stringify({ userId: randomUUID(), conversationIds: [] });
    for (const r of internal) {
      const url = concrete(r.path);
      const payload = r.method === 'GET' ? undefined : body;
      // The route exists on its own port...
      const direct = await raw(`http://127.0.0.1:${port(r.name)}`, r.method, url, payload);
      expect({ url, noRoute: isNoRoute(direct.json) }).toEqual({ url, noRoute: false });
      // ...and not through the gateway, directly or by climbing out of /api/v1.
      for (const viaGateway of [
        url,
        `/api/v1/..${url}`,
        `/api/v1/%2e%2e${url}`,
        `/api/v1/conversations/x/..%2f..%2f..${url}`,
      ]) {
        const res = await raw(stack.origin(), r.method, viaGateway, payload);
        expect({ url: viaGateway, status: res.status, code: res.json.error?.code }).toEqual({
          url: viaGateway,
          status: 404,
          code: 'NOT_FOUND',
        });
      }
    }
    // The public origin serves no API documents at all (they are for operators, on the services' ports).
    expect((await fetch(`${stack.origin()}/docs/json`)).status).toBe(404);
  });

  it('matches the committed snapshots in docs/openapi (run `npm run openapi` against `npm start` after changing a route)', () => {
    for (const name of ['accounts', 'persistence'] as const) {
      const committed = JSON.parse(readFileSync(join(root, 'docs', 'openapi', `${name}.json`), 'utf8')) as OpenApiDoc;
      expect({ name, routes: methods(committed).sort() }).toEqual({ name, routes: methods(docs.get(name)!).sort() });
    }
  });
});
