/**
 * Limits on costly actions hold across instances (one Postgres store), answer 429 RATE_LIMITED with
 * retryAfterMs and the standard RateLimit headers, and the login lockout cannot be turned against the
 * account's owner.
 */
import { befriend, call, registerUsers, startHarness, uniqueName, type Harness } from './harness';

const tight = {
  REGISTER_RATE_MAX_PER_ADDRESS: '5',
  ROOM_CREATE_RATE_MAX: '3',
  INVITE_RATE_MAX: '2',
  FRIEND_REQUEST_RATE_MAX: '2',
  LOGIN_RATE_MAX_PER_USERNAME: '3',
  LOGIN_RATE_MAX_PER_USERNAME_ANYWHERE: '8',
  LOGIN_RATE_MAX_PER_ADDRESS: '1000',
};

describe('limits on costly actions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('limits registrations per address across two instances, before any password is hashed', async () => {
    const [one, two] = [await h.another(tight), await h.another(tight)];
    const register = (app: typeof one.app, ip: string) =>
      call(app, 'POST', '/api/v1/auth/register', {
        body: { username: uniqueName('reg'), password: 'password1' },
        headers: { 'x-forwarded-for': ip },
      });
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => register(i % 2 ? one.app : two.app, '198.51.100.1')),
    );
    expect(statuses.filter((r) => r.status === 201)).toHaveLength(5);
    const limited = statuses.filter((r) => r.status === 429);
    expect(limited).toHaveLength(7);
    expect(limited[0]!.body.error).toMatchObject({
      code: 'RATE_LIMITED',
      retryable: true,
      retryAfterMs: expect.any(Number),
    });
    expect(limited[0]!.headers['retry-after']).toBeDefined();
    expect(limited[0]!.headers['ratelimit-policy']).toBe('5;w=3600');
    expect(limited[0]!.headers.ratelimit).toMatch(/^limit=5, remaining=0, reset=\d+$/);
    const ok = statuses.find((r) => r.status === 201)!;
    expect(ok.headers.ratelimit).toMatch(/^limit=5, remaining=[0-4], reset=\d+$/);
    // Another address is not affected.
    expect((await register(one.app, '198.51.100.2')).status).toBe(201);
  });

  it('limits room creation, invitations and friend requests per user', async () => {
    const app = (await h.another(tight)).app;
    const [a, b, c, d] = await registerUsers(h.app, 4);
    const rooms = [];
    for (let i = 0; i < 4; i++)
      rooms.push(
        await call(app, 'POST', '/api/v1/conversations/rooms', {
          token: a.token,
          body: { title: `r${i}`, memberIds: [] },
        }),
      );
    expect(rooms.map((r) => r.status)).toEqual([201, 201, 201, 429]);
    expect(rooms[3]!.headers['ratelimit-policy']).toBe('3;w=3600');
    const invites = [];
    for (const who of [b, c, d])
      invites.push(
        (
          await call(app, 'POST', `/api/v1/conversations/${rooms[0]!.body.id}/invitations`, {
            token: a.token,
            body: { userId: who.id },
          })
        ).status,
      );
    expect(invites).toEqual([201, 201, 429]);
    const requests = [];
    for (const who of [a, b, c])
      requests.push(
        (await call(app, 'POST', '/api/v1/friends/requests', { token: d.token, body: { username: who.username } }))
          .status,
      );
    expect(requests).toEqual([201, 201, 429]);
    // Another user still may.
    expect(
      (
        await call(app, 'POST', '/api/v1/conversations/rooms', {
          token: b.token,
          body: { title: 'mine', memberIds: [] },
        })
      ).status,
    ).toBe(201);
  });

  it("a guesser's wrong passwords lock out the guesser's address, not the owner elsewhere; a success clears the owner's count", async () => {
    const app = (await h.another(tight)).app;
    const [owner] = await registerUsers(h.app, 1);
    const login = (password: string, ip: string) =>
      call(app, 'POST', '/api/v1/auth/login', {
        body: { username: owner.username, password },
        headers: { 'x-forwarded-for': ip },
      });
    for (let i = 0; i < 3; i++) expect((await login('wrong-password', '203.0.113.66')).status).toBe(401);
    expect((await login('correct horse', '203.0.113.66')).status).toBe(429);
    // The owner, from their own address, is not locked out.
    expect((await login('correct horse', '203.0.113.10')).status).toBe(200);
    // The owner's own typos are forgiven by a success.
    for (let i = 0; i < 2; i++) expect((await login('typo-typo', '203.0.113.10')).status).toBe(401);
    expect((await login('correct horse', '203.0.113.10')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await login('typo-typo', '203.0.113.10')).status).toBe(401);
    expect((await login('correct horse', '203.0.113.10')).status).toBe(200);
    // Guessing spread over many addresses meets the per-username bar (8 failures in total here).
    for (let i = 0; i < 4; i++) await login('wrong-password', `203.0.113.${100 + i}`);
    expect((await login('correct horse', '203.0.113.10')).status).toBe(429);
  });

  it('friends still add each other freely under the limits (accepting is not limited)', async () => {
    const app = (await h.another(tight)).app;
    const [a, b] = await registerUsers(h.app, 2);
    await befriend(app, a, b);
  });
});
