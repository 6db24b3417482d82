import { createVerifier, localKeys } from '@chat/auth';
import { loadOrCreateSigningKeys } from '../src/auth/key-store';
import { call, registerUser, startHarness, uniqueName, type Harness } from './harness';

describe('auth: registration, login, tokens', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      LOGIN_RATE_MAX_PER_USERNAME: '3',
      LOGIN_RATE_MAX_PER_ADDRESS: '1000',
      LOGIN_RATE_WINDOW_MS: '60000',
    });
  });
  afterAll(() => h.close());

  it('registers a user and issues tokens that verify against the JWKS', async () => {
    const username = uniqueName('Reg');
    const res = await call(h.app, 'POST', '/api/v1/auth/register', {
      body: { username, password: 'password1', displayName: 'Reg User' },
    });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ username: username.toLowerCase(), displayName: 'Reg User' });
    expect(res.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const jwks = await call(h.app, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    const claims = await createVerifier(localKeys(jwks.body))(res.body.accessToken);
    expect(claims.userId).toBe(res.body.user.id);
    expect(claims.expiresAt - Date.now() / 1000).toBeGreaterThan(800);
    const me = await call(h.app, 'GET', '/api/v1/me', { token: res.body.accessToken });
    expect(me).toMatchObject({ status: 200, body: res.body.user });
    // Only a hash of the refresh token is stored.
    const stored = await h.database.pool.query('select token_hash from accounts.refresh_tokens where user_id = $1', [
      res.body.user.id,
    ]);
    expect(stored.rows[0].token_hash).not.toBe(res.body.refreshToken);
  });

  it('treats usernames case-insensitively: 409 for a taken name in another case, login in any case', async () => {
    const name = uniqueName('Case');
    await registerUser(h.app, name.toLowerCase(), 'password1');
    const dup = await call(h.app, 'POST', '/api/v1/auth/register', {
      body: { username: name.toUpperCase(), password: 'password1' },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'CONFLICT', retryable: false });
    const login = await call(h.app, 'POST', '/api/v1/auth/login', {
      body: { username: name.toUpperCase(), password: 'password1' },
    });
    expect(login.status).toBe(200);
    expect(login.body.user.username).toBe(name.toLowerCase());
  });

  it('registers exactly one of two concurrent sign-ups for the same name', async () => {
    const name = uniqueName('race');
    const res = await Promise.all(
      [0, 1, 2].map(() =>
        call(h.app, 'POST', '/api/v1/auth/register', { body: { username: name, password: 'password1' } }),
      ),
    );
    expect(res.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it.each([
    ['a too short username', { username: 'ab', password: 'password1' }],
    ['a too long username', { username: 'a'.repeat(33), password: 'password1' }],
    ['a username with a dash', { username: 'bad-name', password: 'password1' }],
    ['a short password', { username: 'okname', password: 'short' }],
    ['a too long password', { username: 'okname', password: 'p'.repeat(257) }],
    ['an unknown field', { username: 'okname', password: 'password1', admin: true }],
    ['a missing password', { username: 'okname' }],
  ])('refuses %s with VALIDATION and creates nothing', async (_what, body) => {
    const res = await call(h.app, 'POST', '/api/v1/auth/register', { body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION');
    const n = await h.database.pool.query(`select count(*)::int as n from accounts.users where username = 'okname'`);
    expect(n.rows[0].n).toBe(0);
  });

  it('answers malformed JSON with VALIDATION and a body over 64 KiB with 413', async () => {
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": "x",',
    });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('VALIDATION');
    const big = await call(h.app, 'POST', '/api/v1/auth/register', {
      body: { username: 'bigbody', password: 'p'.repeat(70_000) },
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('gives the same 401 for an unknown user and a wrong password, after the same argon2 work', async () => {
    const u = await registerUser(h.app, uniqueName('same'), 'password1');
    const verifications = async () => {
      const text = await h.app.registry.getSingleMetricAsString('password_verifications_total');
      return Number(/password_verifications_total(?:\{[^}]*\})? (\d+)/.exec(text)?.[1]);
    };
    const login = async (username: string) => {
      const before = await verifications();
      const res = await call(h.app, 'POST', '/api/v1/auth/login', {
        body: { username, password: 'wrong-password' },
        headers: { 'x-forwarded-for': username },
      });
      return { res, verified: (await verifications()) - before };
    };
    const wrong = await login(u.username);
    const unknown = await login(uniqueName('ghost'));
    expect(wrong.res.status).toBe(401);
    expect(unknown.res.status).toBe(401);
    expect(unknown.res.body).toEqual(wrong.res.body);
    // Timing is not measured in a test (shared machines); the work is: both paths run exactly one full
    // argon2 verification, the unknown user's against a dummy hash.
    expect(wrong.verified).toBe(1);
    expect(unknown.verified).toBe(1);
  });

  it('rate limits login attempts per username with RATE_LIMITED and retryAfterMs', async () => {
    const u = await registerUser(h.app, uniqueName('rl'), 'password1');
    for (let i = 0; i < 3; i++) {
      expect(
        (await call(h.app, 'POST', '/api/v1/auth/login', { body: { username: u.username, password: 'nope-nope' } }))
          .status,
      ).toBe(401);
    }
    const limited = await call(h.app, 'POST', '/api/v1/auth/login', {
      body: { username: u.username.toUpperCase(), password: 'password1' },
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect(limited.body.error.retryAfterMs).toBeGreaterThan(0);
    expect(limited.body.error.retryAfterMs).toBeLessThanOrEqual(60_000);
    // Another username is not affected.
    const other = await registerUser(h.app, uniqueName('rl'), 'password1');
    expect(
      (await call(h.app, 'POST', '/api/v1/auth/login', { body: { username: other.username, password: 'password1' } }))
        .status,
    ).toBe(200);
  });

  it('rate limits login attempts per address across usernames', async () => {
    const other = await h.another({ LOGIN_RATE_MAX_PER_ADDRESS: '2', LOGIN_RATE_MAX_PER_USERNAME: '100' });
    const statuses: number[] = [];
    // The counters live in the shared store: a fresh address, so earlier tests' attempts do not count.
    for (const name of ['spray_a', 'spray_b', 'spray_c']) {
      statuses.push(
        (
          await call(other.app, 'POST', '/api/v1/auth/login', {
            body: { username: name, password: 'password1' },
            headers: { 'x-forwarded-for': '203.0.113.6' },
          })
        ).status,
      );
    }
    expect(statuses).toEqual([401, 401, 429]);
    // Behind the gateway, the client address is the forwarded one: another client is not limited.
    const fwd = (ip: string) =>
      call(other.app, 'POST', '/api/v1/auth/login', {
        body: { username: 'spray_d', password: 'password1' },
        headers: { 'x-forwarded-for': ip },
      });
    expect((await fwd('203.0.113.7')).status).toBe(401);
    expect((await fwd('203.0.113.7')).status).toBe(401);
    expect((await fwd('203.0.113.7')).status).toBe(429);
    expect((await fwd('203.0.113.8')).status).toBe(401);
  });

  it('rotates refresh tokens; replaying a rotated one revokes the whole family', async () => {
    const u = await registerUser(h.app);
    const first = await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(u.refreshToken);
    const second = await call(h.app, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: first.body.refreshToken },
    });
    expect(second.status).toBe(200);
    // The thief replays the first token: refused, and the legitimate newest token dies with it.
    const replay = await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('UNAUTHENTICATED');
    const newest = await call(h.app, 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: second.body.refreshToken },
    });
    expect(newest.status).toBe(401);
    // Another session of the same user is untouched.
    const login = await call(h.app, 'POST', '/api/v1/auth/login', {
      body: { username: u.username, password: 'correct horse' },
    });
    expect(
      (await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: login.body.refreshToken } })).status,
    ).toBe(200);
  });

  it('lets only one of two concurrent refreshes of the same token win', async () => {
    const u = await registerUser(h.app);
    const res = await Promise.all(
      [0, 1].map(() => call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })),
    );
    expect(res.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('logout revokes the session; unknown tokens and bad bodies are handled', async () => {
    const u = await registerUser(h.app);
    expect((await call(h.app, 'POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } })).status).toBe(
      204,
    );
    expect((await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })).status).toBe(
      401,
    );
    expect((await call(h.app, 'POST', '/api/v1/auth/logout', { body: { refreshToken: 'never-issued' } })).status).toBe(
      204,
    );
    // No token in the body and no cookie: nothing to refresh with.
    expect((await call(h.app, 'POST', '/api/v1/auth/refresh', { body: {} })).status).toBe(401);
    expect((await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: 5 } })).status).toBe(400);
    expect((await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: 'never-issued' } })).status).toBe(
      401,
    );
  });

  it('refuses authenticated routes without a valid bearer token', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }] as Array<
      Record<string, string>
    >) {
      const res = await call(h.app, 'GET', '/api/v1/me', { headers });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
    const u = await registerUser(h.app);
    expect((await call(h.app, 'GET', '/api/v1/friends', { token: `${u.token}x` })).status).toBe(401);
  });

  it('answers an unknown route with the contract 404 body', async () => {
    const res = await call(h.app, 'GET', '/api/v1/nope');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', retryable: false } } });
  });

  it('keeps the signing key across restarts: tokens issued before still verify', async () => {
    const u = await registerUser(h.app);
    const again = await loadOrCreateSigningKeys(h.keysDir);
    expect(again.kid).toBe(h.keys.kid);
    expect((await createVerifier(localKeys(again.jwks))(u.token)).userId).toBe(u.id);
  });
});
