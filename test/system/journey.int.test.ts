import { randomUUID } from 'node:crypto';
import { waitFor, nextEvent } from '@chat/testkit';
import { Api } from '@chat/client';
import type { Message } from '@chat/contracts';
import { useStack } from './stack';
import { friendsPair, send } from './fixtures';

/** What a new user does with fetch and socket.io-client against the public origin, end to end. */
describe('the public origin, end to end', () => {
  const { stack, track } = useStack();

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await fetch(`${stack.origin()}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  it('registers, logs in, refreshes and reads itself through the gateway', async () => {
    const username = `j_${randomUUID().slice(0, 8)}`;
    const reg = await call('POST', '/api/v1/auth/register', { username, password: 'correct horse' });
    expect(reg.status).toBe(201);
    const login = await call('POST', '/api/v1/auth/login', {
      username: username.toUpperCase(),
      password: 'correct horse',
    });
    expect(login.status).toBe(200);
    const me = await call('GET', '/api/v1/me', undefined, login.body.accessToken);
    expect(me.body).toMatchObject({ id: reg.body.user.id, username });
    const refreshed = await call('POST', '/api/v1/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    const reused = await call('POST', '/api/v1/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(reused).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
  });

  it('answers bad input and unknown routes with coded errors, and hides internal routes', async () => {
    expect(await call('POST', '/api/v1/auth/register', '{not json')).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION', retryable: false } },
    });
    expect(await call('GET', '/api/v1/nope')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect((await call('GET', '/internal/v1/users/00000000-0000-0000-0000-000000000000/contacts')).status).toBe(404);
    expect(await call('GET', '/api/v1/me')).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED' } },
    });
  });

  it('refuses a socket with a bad token with UNAUTHENTICATED', async () => {
    const api = new Api(stack.origin());
    const err = await api.connect('not-a-token').then(
      () => null,
      (e: Error & { data?: unknown }) => e,
    );
    expect(err?.data).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
  });

  it('delivers a message to the other member and the sender’s other tab, and keeps it in history', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const [sa, sa2, sb] = await Promise.all([api.connect(a.token), api.connect(a.token), api.connect(b.token)]);
    track(sa, sa2, sb);
    const toB = nextEvent<Message>(sb, 'message:new');
    const toOtherTab = nextEvent<Message>(sa2, 'message:new');
    const res = await send(sa, conversationId, 'hello <b>there</b> 👋');
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(await toB).toEqual(res.message);
    expect(await toOtherTab).toEqual(res.message);
    const page = await waitFor(
      async () => {
        const r = await call('GET', `/api/v1/conversations/${conversationId}/messages`, undefined, b.token);
        return r.body?.messages?.length === 1 ? r.body : null;
      },
      10_000,
      'the message in history',
    );
    expect(page).toEqual({ messages: [res.message], hasMore: false });
    const list = await waitFor(
      async () => {
        const r = await call('GET', '/api/v1/conversations', undefined, b.token);
        return r.body?.[0]?.lastMessage ? r.body : null;
      },
      10_000,
      'the conversation list to show the last message',
    );
    expect(list[0]).toMatchObject({ id: conversationId, kind: 'direct', lastMessage: res.message, unreadCount: 1 });
  });
});
