/**
 * The end-to-end routes are plugins of one parent that authenticates: every one of them refuses a
 * request without a token, and answers a signed-in user.
 */
import { randomUUID } from 'node:crypto';
import { call, registerUsers, startHarness, type Harness } from './harness';

const id = randomUUID();
const routes: Array<['GET' | 'POST' | 'DELETE', string]> = [
  ['DELETE', '/api/v1/keys/devices/d1'],
  ['POST', '/api/v1/e2e/devices/d1/key-packages'],
  ['GET', '/api/v1/e2e/devices/d1/key-packages'],
  ['POST', '/api/v1/e2e/key-packages/claim'],
  ['GET', '/api/v1/e2e/groups'],
  ['POST', `/api/v1/e2e/groups/${id}`],
  ['GET', `/api/v1/e2e/groups/${id}`],
  ['POST', `/api/v1/e2e/groups/${id}/commits`],
  ['POST', `/api/v1/e2e/groups/${id}/rejoin`],
  ['GET', `/api/v1/e2e/groups/${id}/commits`],
  ['GET', '/api/v1/e2e/devices/d1/welcomes'],
  ['POST', '/api/v1/e2e/devices/d1/welcomes/ack'],
];

describe('end-to-end routes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('every one refuses a request without a token', async () => {
    for (const [method, url] of routes) {
      const r = await call(h.app, method, url);
      expect({ method, url, status: r.status, code: r.body?.error?.code }).toEqual({
        method,
        url,
        status: 401,
        code: 'UNAUTHENTICATED',
      });
    }
  });

  it('each group of them answers a signed-in user', async () => {
    const [a] = await registerUsers(h.app, 1);
    expect((await call(h.app, 'GET', '/api/v1/e2e/groups', { token: a.token })).body).toEqual([]);
    const put = await call(h.app, 'PUT', '/api/v1/keys/devices/d1', { token: a.token, body: { publicKey: 'AAAA' } });
    expect(put.status).toBeLessThan(300);
    expect((await call(h.app, 'GET', '/api/v1/e2e/devices/d1/key-packages', { token: a.token })).body).toEqual({
      available: 0,
      lastResort: false,
    });
    expect((await call(h.app, 'GET', '/api/v1/e2e/devices/d1/welcomes', { token: a.token })).body).toEqual([]);
    expect((await call(h.app, 'GET', `/api/v1/e2e/groups/${id}/commits`, { token: a.token })).status).toBe(404);
  });
});
