import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@chat/local-infra';
import { startFakeAccounts, type FakeAccounts } from '@chat/testkit';
import { createHarness, type Harness } from './harness';
import type { RunningGateway } from '../src/server';

describe('the public origin over HTTP', () => {
  let h: Harness;
  let persistence: FakeAccounts;
  let gw: RunningGateway;
  let web: string;

  beforeAll(async () => {
    h = await createHarness();
    persistence = await startFakeAccounts();
    web = mkdtempSync(join(tmpdir(), 'chat-web-'));
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>chat app</title>');
    mkdirSync(join(web, '_app', 'immutable'), { recursive: true });
    writeFileSync(join(web, '_app', 'immutable', 'app.123.js'), 'console.log(1)');
    writeFileSync(join(web, 'favicon.png'), 'png');
    gw = await h.startGateway({ PERSISTENCE_URL: persistence.url, WEB_DIR: web });
  });
  afterAll(async () => {
    await h.close();
    await persistence.close();
    rmSync(web, { recursive: true, force: true });
  });

  it('forwards /api/v1 routes unchanged to accounts: method, path, query, headers and body', async () => {
    const res = await fetch(`${gw.url}/api/v1/friends/requests?x=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer abc', 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      method: 'POST',
      url: '/api/v1/friends/requests?x=1',
      body: '{"username":"bob"}',
    });
    const seen = h.accounts.forwarded.at(-1)!;
    expect(seen.headers.authorization).toBe('Bearer abc');
    expect(seen.headers['content-type']).toBe('application/json');
  });

  it('forwards bodies that are not JSON untouched (the owning service judges them)', async () => {
    const res = await fetch(`${gw.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(await res.json()).toMatchObject({ url: '/api/v1/auth/login', body: '{not json' });
  });

  it('forwards history pages to persistence and the rest of /conversations to accounts', async () => {
    const id = '5b0e7a52-8f4e-4d1c-9d55-3f2a1c0b7e61';
    const hist = await fetch(`${gw.url}/api/v1/conversations/${id}/messages?after=01JD0000000000000000000000&limit=5`);
    expect(await hist.json()).toMatchObject({
      method: 'GET',
      url: `/api/v1/conversations/${id}/messages?after=01JD0000000000000000000000&limit=5`,
    });
    expect(persistence.forwarded).toHaveLength(1);
    await fetch(`${gw.url}/api/v1/conversations/${id}/members`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    await fetch(`${gw.url}/api/v1/conversations`);
    expect(h.accounts.forwarded.map((r) => r.url)).toEqual(
      expect.arrayContaining([`/api/v1/conversations/${id}/members`, '/api/v1/conversations']),
    );
    expect(persistence.forwarded).toHaveLength(1);
  });

  it('never reaches /internal routes from the public origin', async () => {
    const before = h.accounts.lookups.length + h.accounts.forwarded.length;
    for (const path of [
      '/internal/v1/conversations/x',
      '/api/v1/../internal/v1/conversations/x',
      '/api/v1/%2e%2e/internal/v1/conversations/x',
      '/api/v1/..%2finternal/v1/users/x/contacts',
    ]) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND', retryable: false } });
    }
    expect(h.accounts.lookups.length + h.accounts.forwarded.length).toBe(before);
  });

  it('answers 503 UNAVAILABLE with the contract body when an upstream is unreachable', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const lonely = await h.startGateway({ ACCOUNTS_URL: nowhere, PERSISTENCE_URL: nowhere });
    for (const path of ['/api/v1/me', '/api/v1/conversations/5b0e7a52-8f4e-4d1c-9d55-3f2a1c0b7e61/messages']) {
      const res = await fetch(`${lonely.url}${path}`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: { code: 'UNAVAILABLE', message: expect.any(String), retryable: true },
      });
    }
  });

  it('serves the web client with an SPA fallback, and the contract 404 for unknown API paths', async () => {
    const index = await fetch(`${gw.url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('chat app');
    const deep = await fetch(`${gw.url}/conversations/123`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-type')).toMatch(/text\/html/);
    expect(await deep.text()).toContain('chat app');
    const asset = await fetch(`${gw.url}/_app/immutable/app.123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    expect(await asset.text()).toBe('console.log(1)');
    expect((await fetch(`${gw.url}/favicon.png`)).status).toBe(200);
    // Not pages: well-known URIs and missing files answer 404, not the app with 200.
    for (const path of [
      '/.well-known/security.txt',
      '/.well-known/openid-configuration',
      '/robots.txt',
      '/wp-login.php',
      '/_app/immutable/gone.js',
    ]) {
      const res = await fetch(`${gw.url}${path}`);
      expect([path, res.status]).toEqual([path, 404]);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    const traversal = await fetch(`${gw.url}/%2e%2e/%2e%2e/etc/passwd`);
    expect(await traversal.text()).not.toContain('root:');
    const post = await fetch(`${gw.url}/nope`, { method: 'POST' });
    expect(post.status).toBe(404);
    expect(await post.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('says the web client is not built when its folder is missing', async () => {
    const bare = await h.startGateway({ WEB_DIR: join(web, 'missing') });
    const res = await fetch(`${bare.url}/anything`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/not built/);
  });

  it('serves the socket contract (AsyncAPI 3) on the public origin, the same text as docs/asyncapi.json', async () => {
    const res = await fetch(`${gw.url}/asyncapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.text()).toBe(readFileSync(join(__dirname, '..', '..', '..', 'docs', 'asyncapi.json'), 'utf8'));
  });

  it('serves metrics on the operator listener only; probes on both', async () => {
    expect(await (await fetch(`${gw.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    for (const path of ['/metrics', '/docs', '/docs/json']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    expect(await (await fetch(`${gw.opsUrl}/metrics`)).text()).toMatch(/gateway_connected_sockets/);
    expect((await fetch(`${gw.opsUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${gw.opsUrl}/healthz`)).json()).toEqual({ status: 'ok' });
  });
});
