import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';

/**
 * The yardstick: a bare Socket.IO relay with no broker, no storage and no authentication, on the same
 * socket options as the gateway. `message:send` is acked and emitted as `message:new` to the other
 * members' sockets, in the same shapes as the stack's contract, so the load tool drives both alike.
 * A client names itself in `auth.token` (its user id); `bench:conversation` registers a conversation's
 * members (set-up only). Run by `npm run bench -- --compare`; alone: `npx tsx bench/relay/server.ts --port 0`.
 */
const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});
const http = createServer();
const io = new Server(http, { serveClient: false, maxHttpBufferSize: 1e6 });
const members = new Map<string, string[]>();
let seq = 0;

io.use((socket, next) => {
  const token = (socket.handshake.auth as { token?: unknown }).token;
  if (typeof token !== 'string' || !token) return next(new Error('missing auth.token'));
  socket.data.userId = token;
  next();
});

io.on('connection', (socket) => {
  const userId = socket.data.userId as string;
  void socket.join(`user:${userId}`);
  socket.on('bench:conversation', (c: { id: string; memberIds: string[] }, ack: () => void) => {
    members.set(c.id, c.memberIds);
    ack();
  });
  socket.on(
    'message:send',
    (p: { conversationId: string; clientMsgId: string; body: string }, ack: (r: unknown) => void) => {
      const to = members.get(p.conversationId);
      if (!to) return ack({ ok: false, error: { code: 'NOT_FOUND', message: 'no such conversation' } });
      const now = Date.now();
      const message = {
        id: `${now.toString(36)}${(seq++).toString(36)}`,
        conversationId: p.conversationId,
        senderId: userId,
        clientMsgId: p.clientMsgId,
        createdAt: new Date(now).toISOString(),
        kind: 'text',
        body: p.body,
      };
      io.to(to.map((u) => `user:${u}`))
        .except(socket.id)
        .emit('message:new', message);
      ack({ ok: true, message });
    },
  );
});

http.listen(Number(values.port), values.host, () => {
  const a = http.address() as { port: number };
  process.stdout.write(`relay listening on ${a.port}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void io.close(() => process.exit(0)));
