import { ChatClient, HttpApi } from '@chat/client';
import type { Message } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { useStack } from '../../test/system/stack';
import { startEchoBot, type EchoBot } from './echo-bot';

/**
 * The "done when": a bot on the SDK, against the real stack (four services as processes),
 * logs in with a bot token, survives a dropped socket by resuming and a gateway restart by resyncing,
 * and ends with every message and event it should have, each reply exactly once.
 */
describe('examples/echo-bot: a bot on the SDK against the real stack', () => {
  const { stack } = useStack({ gateways: 2, env: { gateway: { RESUME_WINDOW_MS: '60000' } } });
  let bot: EchoBot;
  let alice: ChatClient;
  const lines: string[] = [];
  afterAll(() => {
    bot?.close();
    alice?.close();
  });

  const echoesIn = async (conversationId: string): Promise<string[]> => {
    const all: Message[] = [];
    let cursor = '00000000000000000000000000';
    for (;;) {
      const page = await alice.http.history(conversationId, { after: cursor, limit: 100 });
      all.push(...page.messages);
      if (page.messages.length) cursor = page.messages.at(-1)!.id;
      if (!page.hasMore) break;
    }
    return all.filter((m) => m.senderId === bot.client.userId).map((m) => m.body!);
  };

  it('logs in with a bot token, resumes after a drop, resyncs after a gateway restart, and misses nothing', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    // The owner (a person) makes the bot and its token.
    const owner = new HttpApi(stack.origin(1));
    await owner.register(`owner_${suffix}`, 'correct horse battery');
    const made = await owner.createBot(`echo_${suffix}`, 'Echo');
    const { token } = await owner.createBotToken(made.id, { name: 'test' });

    bot = startEchoBot({ origin: stack.origin(0), token, log: (l) => lines.push(l) });
    await bot.ready;
    expect(bot.client.userId).toBe(made.id);

    // Alice, a person on the other gateway, befriends the bot: it accepts live.
    const aliceHttp = new HttpApi(stack.origin(1));
    await aliceHttp.register(`alice_${suffix}`, 'correct horse battery');
    alice = new ChatClient({ origin: stack.origin(1), credentials: aliceHttp.credentials! });
    await alice.connect();
    const got: Message[] = [];
    alice.on('message', (m) => got.push(m));
    const echoed = (body: string) => got.some((m) => m.senderId === made.id && m.body === `echo: ${body}`);
    await aliceHttp.requestFriend(made.username);
    await waitFor(async () => (await aliceHttp.friends()).length === 1, 10_000, 'the bot accepted');
    const direct = (await aliceHttp.friends())[0]!.conversationId!;

    await alice.send(direct, 'm1');
    await waitFor(() => echoed('m1'), 10_000, 'echo of m1');

    // 1. A dropped socket: the client resumes its session and the events it missed are replayed.
    bot.client.simulateDrop();
    await alice.send(direct, 'm2');
    await alice.send(direct, 'm3');
    await waitFor(() => echoed('m2') && echoed('m3'), 15_000, 'echoes of m2, m3');
    expect(bot.client.stats.resumed).toBeGreaterThanOrEqual(1);
    expect(bot.client.stats.resyncs).toBe(0);

    // 2. The bot's gateway restarts: its sessions die with it. Meanwhile alice talks and adds the bot to a room.
    const gw0 = stack.procs.find((p) => p.name === 'gateway')!;
    await stack.terminate(gw0);
    await alice.send(direct, 'm4');
    const room = await alice.http.createRoom('ops', [made.id]);
    await alice.send(room.id, 'm5');
    await alice.send(direct, 'm6');
    await stack.spawn('gateway', gw0.port);

    await waitFor(() => ['m4', 'm5', 'm6'].every(echoed), 30_000, 'echoes after the restart');
    expect(bot.client.stats.resyncs).toBeGreaterThanOrEqual(1);
    expect(lines).toContain('new session (resync: unknown_session)');

    // It ends with every message and event it should have, and every reply exactly once.
    expect(bot.received.map((m) => m.body).sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(
      bot.client
        .conversations()
        .map((c) => c.id)
        .sort(),
    ).toEqual([direct, room.id].sort());
    expect(bot.client.cursors()[room.id]).toBe(bot.received.find((m) => m.body === 'm5')!.id);
    // History follows the live echo by a batch (persistence stores independently of delivery).
    const inDirect = ['echo: m1', 'echo: m2', 'echo: m3', 'echo: m4', 'echo: m6'];
    await waitFor(
      async () => (await echoesIn(direct)).length >= inDirect.length && (await echoesIn(room.id)).length >= 1,
      10_000,
      'the echoes in history',
    ).catch(() => undefined);
    expect((await echoesIn(direct)).sort()).toEqual(inDirect);
    expect(await echoesIn(room.id)).toEqual(['echo: m5']);
    expect(bot.events.some((e) => e.event === 'friends' && (e.payload as { type: string }).type === 'request')).toBe(
      true,
    );
  }, 120_000);
});
