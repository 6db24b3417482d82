import { silentLogger } from '@chat/logger';
import { internalGet, internalPost } from './internal-http';
import { useInternalToken } from './internal-auth';
import { createService, type App } from './service';

describe('the service credential of internal routes', () => {
  let app: App;
  let url: string;
  beforeAll(async () => {
    app = await createService({ name: 'probe', logger: silentLogger(), internalToken: 'a-long-enough-internal-token' });
    app.get('/internal/v1/ping', async () => ({ ok: true }));
    app.post('/internal/v1/ping', async () => ({ ok: true }));
    app.get('/api/v1/open', async () => ({ ok: true }));
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    useInternalToken(undefined);
    await app.close();
  });

  it('refuses internal routes without the credential, or with another one, with 401 in the error shape', async () => {
    const none = await fetch(`${url}/internal/v1/ping`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      error: { code: 'UNAUTHENTICATED', message: expect.any(String), retryable: false },
    });
    expect(
      (await fetch(`${url}/internal/v1/ping`, { headers: { authorization: 'Bearer a-long-enough-internal-tokeN' } }))
        .status,
    ).toBe(401);
    expect((await fetch(`${url}/api/v1/open`)).status).toBe(200);
  });

  it("lets the process's own internal calls through: they carry the credential", async () => {
    expect((await internalGet(`${url}/internal/v1/ping`, 2_000)).status).toBe(200);
    expect((await internalPost(`${url}/internal/v1/ping`, {}, 2_000)).status).toBe(200);
  });
});
