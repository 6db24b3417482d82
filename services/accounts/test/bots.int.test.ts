import { call, registerUser, startHarness, uniqueName, type Harness, type TestUser } from './harness';

describe('bots: accounts owned by a user, with scoped, revocable API tokens', () => {
  let h: Harness;
  let owner: TestUser;
  let other: TestUser;
  beforeAll(async () => {
    h = await startHarness({ LOGIN_RATE_MAX_PER_USERNAME: '3' });
    [owner, other] = await Promise.all([registerUser(h.app), registerUser(h.app)]);
  });
  afterAll(() => h.close());

  const createBot = async (by: TestUser = owner) => {
    const res = await call(h.app, 'POST', '/api/v1/bots', {
      token: by.token,
      body: { username: uniqueName('Bot'), displayName: 'Helper' },
    });
    expect(res.status).toBe(201);
    return res.body as { id: string; username: string; ownerId: string; bot: true };
  };
  const issue = async (botId: string, body: object = { name: 'ci' }, by: TestUser = owner) =>
    call(h.app, 'POST', `/api/v1/bots/${botId}/tokens`, { token: by.token, body });

  it('creates a bot that is a user marked bot: true, owned by its creator, listed only to them', async () => {
    const bot = await createBot();
    expect(bot).toMatchObject({
      bot: true,
      ownerId: owner.id,
      displayName: 'Helper',
      username: expect.stringMatching(/^bot/),
    });
    expect(
      (await call(h.app, 'GET', '/api/v1/bots', { token: owner.token })).body.map((b: { id: string }) => b.id),
    ).toContain(bot.id);
    expect((await call(h.app, 'GET', '/api/v1/bots', { token: other.token })).body).toEqual([]);
    const found = await call(h.app, 'GET', `/api/v1/users?q=${bot.username}`, { token: other.token });
    expect(found.body).toEqual([expect.objectContaining({ id: bot.id, bot: true })]);
    // A bot has no password: no login, and its failed attempts never count against anyone else.
    const login = await call(h.app, 'POST', '/api/v1/auth/login', {
      body: { username: bot.username, password: '!bot' },
    });
    expect(login.status).toBe(401);
  });

  it('issues a token shown once, usable as a bearer token; lists it without the secret; revocation ends it', async () => {
    const bot = await createBot();
    const res = await issue(bot.id, { name: 'deploy', expiresInDays: 30 });
    expect(res.status).toBe(201);
    const { token, apiToken } = res.body;
    expect(token).toMatch(/^cbt_[A-Za-z0-9_-]{43}$/);
    expect(apiToken).toMatchObject({
      botId: bot.id,
      name: 'deploy',
      scopes: ['read', 'write'],
      lastUsedAt: null,
      expiresAt: expect.any(String),
    });
    const me = await call(h.app, 'GET', '/api/v1/me', { token });
    expect(me).toMatchObject({ status: 200, body: { id: bot.id, bot: true } });
    const listed = await call(h.app, 'GET', `/api/v1/bots/${bot.id}/tokens`, { token: owner.token });
    expect(listed.body).toEqual([{ ...apiToken, lastUsedAt: expect.any(String) }]);
    expect(JSON.stringify(listed.body)).not.toContain(token.slice(4));
    const stored = await h.database.pool.query('select token_hash from accounts.api_tokens where id = $1', [
      apiToken.id,
    ]);
    expect(stored.rows[0].token_hash).not.toContain(token.slice(4));

    const intro = await call(h.app, 'POST', '/internal/v1/tokens/introspect', { body: { token } });
    expect(intro).toMatchObject({
      status: 200,
      body: { userId: bot.id, tokenId: apiToken.id, scopes: ['read', 'write'] },
    });

    expect(
      (await call(h.app, 'DELETE', `/api/v1/bots/${bot.id}/tokens/${apiToken.id}`, { token: owner.token })).status,
    ).toBe(204);
    expect((await call(h.app, 'GET', '/api/v1/me', { token })).body.error.code).toBe('UNAUTHENTICATED');
    expect((await call(h.app, 'POST', '/internal/v1/tokens/introspect', { body: { token } })).status).toBe(404);
    expect((await call(h.app, 'GET', `/api/v1/bots/${bot.id}/tokens`, { token: owner.token })).body).toEqual([]);
    expect(
      (await call(h.app, 'DELETE', `/api/v1/bots/${bot.id}/tokens/${apiToken.id}`, { token: owner.token })).status,
    ).toBe(404);
  });

  it('a bot acts as a user: befriends people, and a read-only token may read but not write', async () => {
    const bot = await createBot();
    const rw = (await issue(bot.id)).body.token;
    const ro = (await issue(bot.id, { name: 'reader', scopes: ['read'] })).body.token;
    const ask = await call(h.app, 'POST', '/api/v1/friends/requests', {
      token: rw,
      body: { username: other.username },
    });
    expect(ask.status).toBe(201);
    expect((await call(h.app, 'GET', '/api/v1/friends/requests', { token: ro })).body.outgoing).toHaveLength(1);
    const denied = await call(h.app, 'DELETE', `/api/v1/friends/requests/${ask.body.id}`, { token: ro });
    expect(denied).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect((await call(h.app, 'GET', '/api/v1/friends/requests', { token: ro })).body.outgoing).toHaveLength(1);
  });

  it('refuses bots managing bots, strangers managing your bot, and bad input, changing nothing', async () => {
    const bot = await createBot();
    const token = (await issue(bot.id)).body.token;
    expect((await call(h.app, 'POST', '/api/v1/bots', { token, body: { username: uniqueName('b') } })).status).toBe(
      403,
    );
    expect((await issue(bot.id, { name: 'x' }, { ...owner, token })).status).toBe(403);
    expect((await issue(bot.id, { name: 'x' }, other)).status).toBe(404);
    expect((await call(h.app, 'GET', `/api/v1/bots/${bot.id}/tokens`, { token: other.token })).status).toBe(404);
    for (const body of [
      {},
      { name: '' },
      { name: 'x', scopes: ['admin'] },
      { name: 'x', scopes: [] },
      { name: 'x', expiresInDays: 0 },
      { name: 'x', extra: 1 },
    ]) {
      expect((await issue(bot.id, body)).body.error.code).toBe('VALIDATION');
    }
    expect((await call(h.app, 'GET', '/api/v1/me', { token: 'cbt_nonsense' })).status).toBe(401);
    expect((await call(h.app, 'GET', `/api/v1/bots/${bot.id}/tokens`, { token: owner.token })).body).toHaveLength(1);
    const taken = await call(h.app, 'POST', '/api/v1/bots', { token: owner.token, body: { username: other.username } });
    expect(taken.status).toBe(409);
  });

  it('query strings: a route with query parameters refuses unknown ones, a route without any ignores them', async () => {
    expect((await call(h.app, 'GET', '/api/v1/users?q=ab&page=2', { token: owner.token })).body.error.code).toBe(
      'VALIDATION',
    );
    expect((await call(h.app, 'GET', '/api/v1/bots?page=2', { token: owner.token })).status).toBe(200);
  });

  it('an expired token is refused like a revoked one', async () => {
    const bot = await createBot();
    const { token, apiToken } = (await issue(bot.id, { name: 'short', expiresInDays: 1 })).body;
    await h.database.pool.query(
      "update accounts.api_tokens set expires_at = now() - interval '1 second' where id = $1",
      [apiToken.id],
    );
    expect((await call(h.app, 'GET', '/api/v1/me', { token })).status).toBe(401);
  });

  it('token responses say how long the access token lives (expiresIn)', async () => {
    const name = uniqueName('Exp');
    const reg = await call(h.app, 'POST', '/api/v1/auth/register', { body: { username: name, password: 'password1' } });
    expect(reg.body.expiresIn).toBe(900);
    const ref = await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: reg.body.refreshToken } });
    expect(ref.body).toMatchObject({ expiresIn: 900, accessToken: expect.any(String) });
  });
});
