/**
 * An echo bot on the SDK (@chat/client): it logs in with a bot API token, accepts every friend
 * request, and answers each message it did not write with "echo: <body>". Reconnection, resume,
 * resync after a gateway restart, history cursors and resends are the SDK's; the bot only reacts.
 *
 *   CHAT_ORIGIN=http://localhost:8080 CHAT_BOT_TOKEN=cbt_... npx tsx examples/echo-bot/echo-bot.ts
 */
import { createHash } from 'node:crypto';
import { ChatClient, type Snapshot } from '@chat/client/sdk';
import type { FriendsEvent, Message } from '@chat/contracts';

/**
 * The reply's clientMsgId is derived from the message answered: a bot that handles the same message
 * twice (a replay, a resync, its own restart) sends the same id, and the server keeps one reply.
 */
export function replyId(messageId: string): string {
  const h = createHash('sha256').update(`echo:${messageId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface EchoBot {
  client: ChatClient;
  /** Messages received from others, once each. */
  received: Message[];
  /** Every socket event the bot saw, in order (name and payload). */
  events: Array<{ event: string; payload: unknown }>;
  replies: Map<string, Message>;
  ready: Promise<void>;
  close: () => void;
}

export function startEchoBot(opts: { origin: string; token: string; log?: (line: string) => void }): EchoBot {
  const log = opts.log ?? (() => undefined);
  const client = new ChatClient({ origin: opts.origin, botToken: opts.token });
  const bot: EchoBot = {
    client,
    received: [],
    events: [],
    replies: new Map(),
    ready: Promise.resolve(),
    close: () => client.close(),
  };

  const accept = (requestId: string) =>
    client.http.acceptFriend(requestId).then(
      (f) => log(`friends with ${f.user.username}`),
      (err: { code?: string }) => {
        if (err.code !== 'NOT_FOUND') log(`accept failed: ${err.code}`); // NOT_FOUND: already answered
      },
    );

  client.on('message', (m) => {
    if (m.senderId === client.userId || m.kind !== 'text') return;
    bot.received.push(m);
    log(`got ${m.body}`);
    client.send(m.conversationId, `echo: ${m.body}`, replyId(m.id)).then(
      (reply) => bot.replies.set(m.id, reply),
      (err: { code?: string }) => log(`reply to ${m.id} failed: ${err.code}`),
    );
  });
  client.on('friends', (e: FriendsEvent) => {
    bot.events.push({ event: 'friends', payload: e });
    const req = (e as { request?: { id: string; to: { id: string } } }).request;
    if (e.type === 'request' && req && req.to.id === client.userId) void accept(req.id);
  });
  client.on('conversation', (e) => bot.events.push({ event: 'conversation', payload: e }));
  client.on('session', (s) =>
    log(s.resumed ? `session resumed at ${s.seq}` : `new session${s.resync ? ` (resync: ${s.resync})` : ''}`),
  );
  // Requests made while the bot was away are only in HTTP state: answer them after every resync.
  client.on('resync', (snap: Snapshot) => snap.requests.incoming.forEach((r) => void accept(r.id)));
  client.on('error', (err) => log(`error: ${String((err as Error).message ?? err)}`));
  bot.ready = client.connect();
  return bot;
}

if (require.main === module) {
  const origin = process.env.CHAT_ORIGIN ?? 'http://localhost:8080';
  const token = process.env.CHAT_BOT_TOKEN;
  if (!token) {
    process.stderr.write('set CHAT_BOT_TOKEN to a bot API token (POST /api/v1/bots/:id/tokens)\n');
    process.exit(2);
  }
  const bot = startEchoBot({ origin, token, log: (l) => process.stdout.write(`${l}\n`) });
  bot.ready.then(
    () => process.stdout.write(`echo bot ${bot.client.userId} ready on ${origin}\n`),
    (err) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
  process.on('SIGINT', () => {
    bot.close();
    process.exit(0);
  });
}
