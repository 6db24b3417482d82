/**
 * Bad input gets a coded 400 and changes nothing, never a 500: strings Postgres cannot store, names
 * that could deceive (bidirectional overrides, zero-width characters), ids in another case.
 */
import { limits } from '@chat/contracts';
import { call, registerUsers, startHarness, uniqueName, type Harness, type Users } from './harness';

describe('accounts: input that used to reach Postgres and come back as 500', () => {
  let h: Harness;
  let u: Users;
  beforeAll(async () => {
    h = await startHarness();
    u = await registerUsers(h.app, 2);
  });
  afterAll(() => h.close());

  const expect400 = (res: { status: number; body: any }) => {
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION', retryable: false });
  };

  it('refuses U+0000 in a login username, a friend-request username and a search, before any lookup', async () => {
    expect400(
      await call(h.app, 'POST', '/api/v1/auth/login', { body: { username: 'ab\u0000c', password: 'whatever1' } }),
    );
    expect400(
      await call(h.app, 'POST', '/api/v1/friends/requests', { token: u[0].token, body: { username: 'x\u0000' } }),
    );
    expect400(await call(h.app, 'GET', '/api/v1/users?q=a%00', { token: u[0].token }));
  });

  it('refuses U+0000 in a display name at registration, and registers nobody', async () => {
    const username = uniqueName('nul');
    expect400(
      await call(h.app, 'POST', '/api/v1/auth/register', {
        body: { username, password: 'password1', displayName: 'A\u0000B' },
      }),
    );
    const { rows } = await h.database.pool.query('select 1 from accounts.users where username = $1', [
      username.toLowerCase(),
    ]);
    expect(rows).toHaveLength(0);
  });

  it('refuses U+0000 in a room title (create and rename) and in a device algorithm', async () => {
    expect400(
      await call(h.app, 'POST', '/api/v1/conversations/rooms', {
        token: u[0].token,
        body: { title: 'r\u0000', memberIds: [] },
      }),
    );
    const room = await call(h.app, 'POST', '/api/v1/conversations/rooms', {
      token: u[0].token,
      body: { title: 'fine', memberIds: [] },
    });
    expect(room.status).toBe(201);
    expect400(
      await call(h.app, 'PATCH', `/api/v1/conversations/${room.body.id}`, {
        token: u[0].token,
        body: { title: '\u0000' },
      }),
    );
    expect400(
      await call(h.app, 'PUT', '/api/v1/keys/devices/d1', {
        token: u[0].token,
        body: { publicKey: 'QUJD', algorithm: 'x25519\u0000' },
      }),
    );
    expect400(
      await call(h.app, 'PUT', '/api/v1/keys/devices/d1', {
        token: u[0].token,
        body: { publicKey: 'QUJD', algorithm: '\uD800' },
      }),
    );
  });

  it.each([
    ['a right-to-left override', 'admin\u202Egnp.exe'],
    ['a zero-width space', 'ali\u200Bce'],
    ['a zero-width joiner', 'bo\u200Db'],
    ['a byte-order mark inside', 'car\uFEFFol'],
    ['a bidi isolate', '\u2067x\u2069'],
    ['a control character', 'a\u0007b'],
  ])('refuses %s in display names and room titles', async (_what, name) => {
    expect400(
      await call(h.app, 'POST', '/api/v1/auth/register', {
        body: { username: uniqueName('bidi'), password: 'password1', displayName: name },
      }),
    );
    expect400(
      await call(h.app, 'POST', '/api/v1/conversations/rooms', {
        token: u[0].token,
        body: { title: name, memberIds: [] },
      }),
    );
  });

  it('still takes names in any script, with emoji and combining marks', async () => {
    const res = await call(h.app, 'POST', '/api/v1/conversations/rooms', {
      token: u[0].token,
      body: { title: 'שלום مرحبا Ελλάδα 😀 é', memberIds: [] },
    });
    expect(res.status).toBe(201);
  });

  it('reads an upper-case conversation id as the same conversation (one canonical form), on public and internal routes', async () => {
    const room = await call(h.app, 'POST', '/api/v1/conversations/rooms', {
      token: u[0].token,
      body: { title: 'case', memberIds: [] },
    });
    const upper = String(room.body.id).toUpperCase();
    const pub = await call(h.app, 'GET', `/api/v1/conversations/${upper}`, { token: u[0].token });
    expect(pub.status).toBe(200);
    expect(pub.body.id).toBe(room.body.id);
    const internal = await call(h.app, 'GET', `/internal/v1/conversations/${upper}`);
    expect(internal.status).toBe(200);
    expect(internal.body.id).toBe(room.body.id);
    expect(internal.body.members).toEqual([{ userId: u[0].id, role: 'owner' }]);
  });
});

describe('accounts: bounded device keys', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('takes at most deviceKeysPerUser devices per user; replacing one of them still works', async () => {
    const [u] = await registerUsers(h.app, 1);
    const put = (deviceId: string) =>
      call(h.app, 'PUT', `/api/v1/keys/devices/${deviceId}`, { token: u.token, body: { publicKey: 'QUJD' } });
    for (let i = 0; i < limits.deviceKeysPerUser; i++) expect((await put(`d${i}`)).status).toBe(200);
    const over = await put('one-more');
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('CONFLICT');
    expect((await put('d0')).status).toBe(200);
    expect((await call(h.app, 'GET', `/api/v1/users/${u.id}/devices`, { token: u.token })).body).toHaveLength(
      limits.deviceKeysPerUser,
    );
  });
});

describe("accounts: Fastify's own refusals in the contract's error shape", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('answers a path parameter over the length limit with 414 VALIDATION', async () => {
    const res = await call(h.app, 'GET', `/internal/v1/conversations/${'a'.repeat(200)}`);
    expect(res.status).toBe(414);
    expect(res.body).toEqual({ error: { code: 'VALIDATION', message: expect.any(String), retryable: false } });
  });

  it('answers a URL that does not decode with 400 VALIDATION', async () => {
    const res = await call(h.app, 'GET', '/internal/v1/conversations/%zz');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION' });
  });

  it('answers an unknown route with 404 NOT_FOUND', async () => {
    const res = await call(h.app, 'GET', '/nope');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});
