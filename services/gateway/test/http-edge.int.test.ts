/**
 * The public origin answers every input in the contract's error shape, with the right status, and
 * never with a 500, a foreign body or a dropped connection.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHarness, type Harness } from './harness';
import type { RunningGateway } from '../src/server';
import { inlineScriptHashes } from '../src/routes/security-headers';

/** One raw HTTP/1.1 exchange: the request line and headers exactly as given, the response as text. */
function raw(
  url: string,
  head: string,
  body: Buffer = Buffer.alloc(0),
): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [h = '', ...rest] = text.split('\r\n\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(h);
      if (!m) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status: Number(m[1]), headers: h, body: rest.join('\r\n\r\n') });
    });
    s.write(
      `${head}\r\nhost: ${hostname}:${port}\r\nconnection: close\r\n${body.length ? `content-length: ${body.length}\r\ncontent-type: application/json\r\n` : ''}\r\n`,
    );
    if (body.length) s.write(body, () => undefined);
  });
}

const errorShape = (code: string) => ({
  error: { code, message: expect.any(String), retryable: code === 'UNAVAILABLE' || code === 'RATE_LIMITED' },
});
/** Chunked bodies are decoded loosely: the JSON is the part between the first { and the last }. */
const json = (body: string) => JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1));

describe('the public origin: every answer in the contract shape', () => {
  let h: Harness;
  let gw: RunningGateway;
  beforeAll(async () => {
    h = await createHarness();
    gw = await h.startGateway();
  });
  afterAll(() => h.close());

  it('answers a malformed percent-escape in the query with 400 VALIDATION, not 500', async () => {
    const res = await fetch(`${gw.url}/api/v1/users?q=%zz`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(errorShape('VALIDATION'));
  });

  it('answers a malformed percent-escape in the path with 400 VALIDATION', async () => {
    const res = await raw(gw.url, 'GET /api/v1/conversations/%zz HTTP/1.1');
    expect(res.status).toBe(400);
    expect(json(res.body)).toEqual(errorShape('VALIDATION'));
  });

  it('refuses an absolute-form request target with 400 VALIDATION, and forwards nothing', async () => {
    const before = h.accounts.forwarded.length;
    const res = await raw(gw.url, 'GET http://evil.example/api/v1/me HTTP/1.1');
    expect(res.status).toBe(400);
    expect(json(res.body)).toEqual(errorShape('VALIDATION'));
    expect(h.accounts.forwarded.length).toBe(before);
  });

  it('answers a malformed request (a bad header) with 400 in the error shape', async () => {
    const res = await raw(gw.url, 'GET /api/v1/me HTTP/1.1\r\nbad header line');
    expect(res.status).toBe(400);
    expect(json(res.body)).toEqual(errorShape('VALIDATION'));
  });

  it('answers a 2 MiB body with 413 PAYLOAD_TOO_LARGE (not a reset), and forwards nothing', async () => {
    const before = h.accounts.forwarded.length;
    const res = await raw(gw.url, 'POST /api/v1/auth/login HTTP/1.1', Buffer.alloc(2 * 1024 * 1024, 0x20));
    expect(res.status).toBe(413);
    expect(json(res.body)).toEqual(errorShape('PAYLOAD_TOO_LARGE'));
    expect(h.accounts.forwarded.length).toBe(before);
  });

  it('answers every one of many 70 KiB bodies with 413, never 503', async () => {
    const body = JSON.stringify({ username: 'x', password: 'y'.repeat(70 * 1024) });
    const statuses = new Map<number, number>();
    for (let round = 0; round < 20; round++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`${gw.url}/api/v1/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          }).then(async (r) => (await r.arrayBuffer(), r.status)),
        ),
      );
      for (const s of answers) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    expect([...statuses]).toEqual([[413, 200]]);
  });

  it('answers a chunked body over the limit with 413', async () => {
    const res = await fetch(`${gw.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 100; i++) c.enqueue(new Uint8Array(1024).fill(0x20));
          c.close();
        },
      }),
      duplex: 'half',
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(errorShape('PAYLOAD_TOO_LARGE'));
  });

  it('still forwards a body under the limit unchanged', async () => {
    const body = JSON.stringify({ username: 'bob', password: 'p'.repeat(60 * 1024) });
    const res = await fetch(`${gw.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { body: string }).body === body).toBe(true);
  });

  it('sends the security headers on the web client and the API: CSP, no framing, nosniff, no referrer', async () => {
    for (const path of ['/', '/api/v1/me']) {
      const res = await fetch(`${gw.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
  });
});

describe('the CSP allows exactly the web client inline start-up script', () => {
  it('hashes each inline script of index.html and no script with a src', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'csp-'));
    try {
      writeFileSync(
        join(dir, 'index.html'),
        '<script type="module" src="/_app/x.js"></script><script>\n  boot();\n</script>',
      );
      const expected = `'sha256-${createHash('sha256').update('\n  boot();\n').digest('base64')}'`;
      expect(inlineScriptHashes(dir)).toEqual([expected]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
