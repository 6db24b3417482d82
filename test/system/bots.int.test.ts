import { io } from 'socket.io-client';
import { HttpApi } from '@chat/client';
import type { Ack, SessionEvent } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { useStack } from './stack';

/** Bot API tokens across the real services: gateway handshake and events, persistence history, revocation. */
describe('bot API tokens through the public origin', () => {
  const { stack, track } = useStack({
    env: {
      gateway: { API_TOKEN_CACHE_MS: '200', API_TOKEN_RECHECK_MS: '300' },
      persistence: { API_TOKEN_CACHE_MS: '200' },
    },
  });

  const connect = (token: string) => {
    const s = io(stack.origin(), { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
    track(s);
    let session: SessionEvent | undefined;
    s.on('session', (e: SessionEvent) => (session = e));
    return new Promise<{ s: typeof s; session: () => SessionEvent | undefined }>((resolve, reject) => {
      s.once('connect', () => resolve({ s, session: () => session }));
      s.once('connect_error', (err: Error & { data?: unknown }) =>
        reject(Object.assign(new Error(err.message), { data: err.data })),
      );
    });
  };

  it('a bot token works on every service, read-only tokens cannot send, and revocation cuts HTTP and sockets', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const owner = new HttpApi(stack.origin());
    await owner.register(`own_${suffix}`, 'correct horse battery');
    const bot = await owner.createBot(`bot_${suffix}`);
    const rw = (await owner.createBotToken(bot.id, { name: 'rw' })).token;
    const ro = (await owner.createBotToken(bot.id, { name: 'ro', scopes: ['read'] })).token;
    const asBot = new HttpApi(stack.origin());
    asBot.useBotToken(rw);
    await asBot.requestFriend((await owner.me()).username);
    const reqs = await owner.friendRequests();
    const friend = await owner.acceptFriend(reqs.incoming[0]!.id);
    const conversationId = friend.conversationId!;

    // The socket: a session, and events for the bot's sends.
    const w = await connect(rw);
    await waitFor(() => w.session() !== undefined, 15_000, 'session');
    const sent = (await w.s
      .timeout(15_000)
      .emitWithAck('message:send', { conversationId, clientMsgId: crypto.randomUUID(), body: 'from the bot' })) as Ack;
    expect(sent.ok).toBe(true);
    // History through persistence, with the bot's token.
    await waitFor(async () => (await asBot.history(conversationId)).messages.length === 1, 15_000, 'stored');

    // Read-only: may connect and read, may not send.
    const r = await connect(ro);
    const refused = (await r.s
      .timeout(15_000)
      .emitWithAck('message:send', { conversationId, clientMsgId: crypto.randomUUID(), body: 'no' })) as Ack;
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const roHttp = new HttpApi(stack.origin());
    roHttp.useBotToken(ro);
    expect((await roHttp.history(conversationId)).messages).toHaveLength(1);
    await expect(roHttp.createRoom('nope')).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });

    // Revocation: the open socket is closed, and every service refuses the token.
    const tokenId = (await owner.botTokens(bot.id)).find((t) => t.name === 'rw')!.id;
    const closed = new Promise<string>((resolve) => w.s.once('disconnect', resolve));
    await owner.revokeBotToken(bot.id, tokenId);
    expect(await closed).toBe('io server disconnect');
    await expect(asBot.me()).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    const historyStatus = () =>
      asBot.history(conversationId).then(
        () => 200,
        (e: { status: number }) => e.status,
      );
    await waitFor(async () => (await historyStatus()) === 401, 15_000, 'persistence refuses');
    await expect(connect(rw)).rejects.toMatchObject({ data: { error: { code: 'UNAUTHENTICATED' } } });
  }, 60_000);
});
