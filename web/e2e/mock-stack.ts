/**
 * A throw-away, in-memory stand-in for the public API (API.md) so the web client can be driven in a
 * browser before the real services run: `npx tsx web/e2e/mock-stack.ts [port]`, then
 * `CHAT_E2E_ORIGIN=http://localhost:<port> npx jest web/e2e`. It serves web/build with the SPA
 * fallback like the gateway. NOT the product: no persistence, no auth security, no limits.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Server } from 'socket.io';

type User = { id: string; username: string; displayName: string; createdAt: string; password: string };
type Msg = { id: string; conversationId: string; senderId: string; clientMsgId: string; createdAt: string; kind: 'text'; body: string };
type Conv = { id: string; kind: 'direct' | 'room'; title: string | null; members: { userId: string; role: string; lastReadMessageId: string | null }[]; createdAt: string };

const users = new Map<string, User>();
const tokens = new Map<string, string>();
const friendships = new Map<string, string>(); // "a|b" -> since
const requests = new Map<string, { id: string; from: string; to: string; createdAt: string }>();
const convs = new Map<string, Conv>();
const messages: Msg[] = [];
const online = new Map<string, number>();
const lastSeen = new Map<string, string>();
let seq = 0;
const ulid = () => (Date.now().toString(32).toUpperCase().padStart(13, '0') + String(++seq).padStart(13, '0')).replace(/[ILOU]/g, 'X');

const pub = (u: User) => ({ id: u.id, username: u.username, displayName: u.displayName, createdAt: u.createdAt });
const key = (a: string, b: string) => [a, b].sort().join('|');
const err = (code: string, message: string) => ({ error: { code, message, retryable: false } });
const issue = (userId: string) => {
  const access = `a.${randomUUID()}`;
  const refresh = `r.${randomUUID()}`;
  tokens.set(access, userId);
  tokens.set(refresh, userId);
  return { accessToken: access, refreshToken: refresh };
};
function view(c: Conv, me: string) {
  const list = messages.filter((m) => m.conversationId === c.id);
  const mine = c.members.find((m) => m.userId === me)?.lastReadMessageId ?? '';
  return { ...c, lastMessage: list[list.length - 1] ?? null, unreadCount: list.filter((m) => m.senderId !== me && m.id > mine).length };
}
function direct(a: string, b: string): Conv {
  for (const c of convs.values()) if (c.kind === 'direct' && c.members.some((m) => m.userId === a) && c.members.some((m) => m.userId === b)) return c;
  const c: Conv = { id: randomUUID(), kind: 'direct', title: null, createdAt: new Date().toISOString(), members: [a, b].map((userId) => ({ userId, role: 'member', lastReadMessageId: null })) };
  convs.set(c.id, c);
  return c;
}

const buildDir = path.resolve(__dirname, '../build');
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  if (!url.pathname.startsWith('/api/v1/')) {
    const file = path.join(buildDir, path.normalize(url.pathname));
    const target = file.startsWith(buildDir) && fs.existsSync(file) && fs.statSync(file).isFile() ? file : path.join(buildDir, 'index.html');
    const type = target.endsWith('.js') ? 'text/javascript' : target.endsWith('.css') ? 'text/css' : target.endsWith('.html') ? 'text/html' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type });
    fs.createReadStream(target).pipe(res);
    return;
  }
  let raw = '';
  for await (const chunk of req) raw += chunk;
  const body = raw ? JSON.parse(raw) : {};
  const p = url.pathname.slice('/api/v1'.length);
  const m = req.method;
  if (m === 'POST' && p === '/auth/register') {
    const username = String(body.username).toLowerCase();
    if (![...users.values()].every((u) => u.username !== username)) return send(409, err('CONFLICT', 'username taken'));
    const u: User = { id: randomUUID(), username, displayName: body.displayName ?? username, createdAt: new Date().toISOString(), password: body.password };
    users.set(u.id, u);
    return send(201, { user: pub(u), ...issue(u.id) });
  }
  if (m === 'POST' && p === '/auth/login') {
    const u = [...users.values()].find((x) => x.username === String(body.username).toLowerCase() && x.password === body.password);
    return u ? send(200, { user: pub(u), ...issue(u.id) }) : send(401, err('UNAUTHENTICATED', 'invalid credentials'));
  }
  if (m === 'POST' && p === '/auth/refresh') {
    const uid = tokens.get(body.refreshToken);
    if (!uid) return send(401, err('UNAUTHENTICATED', 'invalid refresh token'));
    tokens.delete(body.refreshToken);
    return send(200, issue(uid));
  }
  if (m === 'POST' && p === '/auth/logout') return send(204);
  const me = tokens.get((req.headers.authorization ?? '').replace('Bearer ', ''));
  if (!me) return send(401, err('UNAUTHENTICATED', 'missing token'));
  const emit = (userId: string, ev: string, payload: unknown) => io.to(`user:${userId}`).emit(ev, payload);
  const friendsOf = (id: string) => [...friendships.keys()].filter((k) => k.split('|').includes(id)).map((k) => k.split('|').find((x) => x !== id)!);
  let r: RegExpMatchArray | null;
  if (m === 'GET' && p === '/me') return send(200, pub(users.get(me)!));
  if (m === 'GET' && p === '/users') return send(200, [...users.values()].filter((u) => u.username.startsWith(url.searchParams.get('q') ?? '')).slice(0, 20).map(pub));
  if (m === 'GET' && p === '/friends')
    return send(200, friendsOf(me).map((id) => ({ user: pub(users.get(id)!), since: friendships.get(key(me, id)), online: (online.get(id) ?? 0) > 0, lastSeenAt: lastSeen.get(id) ?? null })));
  if (m === 'GET' && p === '/friends/requests') {
    const all = [...requests.values()];
    return send(200, {
      incoming: all.filter((x) => x.to === me).map((x) => ({ id: x.id, from: pub(users.get(x.from)!), createdAt: x.createdAt })),
      outgoing: all.filter((x) => x.from === me).map((x) => ({ id: x.id, to: pub(users.get(x.to)!), createdAt: x.createdAt })),
    });
  }
  if (m === 'POST' && p === '/friends/requests') {
    const to = [...users.values()].find((u) => u.username === String(body.username).toLowerCase());
    if (!to) return send(404, err('NOT_FOUND', 'no such user'));
    const rq = { id: randomUUID(), from: me, to: to.id, createdAt: new Date().toISOString() };
    requests.set(rq.id, rq);
    emit(to.id, 'friends', { type: 'request' });
    return send(201, rq);
  }
  if ((r = p.match(/^\/friends\/requests\/([^/]+)\/(accept|decline)$/)) && m === 'POST') {
    const rq = requests.get(r[1]!);
    if (!rq) return send(404, err('NOT_FOUND', 'no such request'));
    requests.delete(rq.id);
    if (r[2] === 'accept') {
      friendships.set(key(rq.from, rq.to), new Date().toISOString());
      const c = direct(rq.from, rq.to);
      for (const u of [rq.from, rq.to]) {
        emit(u, 'friends', { type: 'accepted' });
        emit(u, 'conversation', { type: 'created', conversation: c });
      }
    }
    return send(200, {});
  }
  if (m === 'GET' && p === '/conversations')
    return send(200, [...convs.values()].filter((c) => c.members.some((x) => x.userId === me)).map((c) => view(c, me)).reverse());
  if (m === 'POST' && p === '/conversations/direct') return send(200, view(direct(me, body.userId), me));
  if (m === 'POST' && p === '/conversations/rooms') {
    const c: Conv = { id: randomUUID(), kind: 'room', title: body.title, createdAt: new Date().toISOString(), members: [{ userId: me, role: 'owner', lastReadMessageId: null }, ...body.memberIds.map((userId: string) => ({ userId, role: 'member', lastReadMessageId: null }))] };
    convs.set(c.id, c);
    for (const x of c.members) emit(x.userId, 'conversation', { type: 'created', conversation: c });
    return send(201, view(c, me));
  }
  if ((r = p.match(/^\/conversations\/([^/]+)\/members$/)) && m === 'POST') {
    const c = convs.get(r[1]!)!;
    c.members.push({ userId: body.userId, role: 'member', lastReadMessageId: null });
    for (const x of c.members) emit(x.userId, 'conversation', { type: 'member_added', conversation: c, userId: body.userId });
    return send(200, {});
  }
  if ((r = p.match(/^\/conversations\/([^/]+)\/messages$/)) && m === 'GET') {
    const list = messages.filter((x) => x.conversationId === r![1]);
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const after = url.searchParams.get('after');
    const before = url.searchParams.get('before');
    if (after) {
      const rest = list.filter((x) => x.id > after);
      return send(200, { messages: rest.slice(0, limit), hasMore: rest.length > limit });
    }
    const upto = before ? list.filter((x) => x.id < before) : list;
    return send(200, { messages: upto.slice(-limit), hasMore: upto.length > limit });
  }
  if (m === 'GET' && p === '/presence')
    return send(200, (url.searchParams.get('userIds') ?? '').split(',').map((id) => ({ userId: id, online: (online.get(id) ?? 0) > 0, lastSeenAt: lastSeen.get(id) ?? null })));
  return send(404, err('NOT_FOUND', `no route ${m} ${p}`));
});

const io = new Server(server);
io.use((socket, next) => {
  const uid = tokens.get(String(socket.handshake.auth.token));
  if (!uid) return next(Object.assign(new Error('unauthenticated'), { data: err('UNAUTHENTICATED', 'bad token') }));
  socket.data.uid = uid;
  next();
});
io.on('connection', (socket) => {
  const uid: string = socket.data.uid;
  socket.join(`user:${uid}`);
  const contacts = () => [...new Set([...convs.values()].filter((c) => c.members.some((m) => m.userId === uid)).flatMap((c) => c.members.map((m) => m.userId)))];
  const n = (online.get(uid) ?? 0) + 1;
  online.set(uid, n);
  if (n === 1) for (const c of contacts()) io.to(`user:${c}`).emit('presence', { userId: uid, online: true, lastSeenAt: null });
  const members = (cid: string) => convs.get(cid)?.members.map((m) => m.userId) ?? [];
  socket.on('message:send', (p, ack) => {
    const dup = messages.find((x) => x.senderId === uid && x.clientMsgId === p.clientMsgId);
    const msg: Msg = dup ?? { id: ulid(), conversationId: p.conversationId, senderId: uid, clientMsgId: p.clientMsgId, createdAt: new Date().toISOString(), kind: 'text', body: p.body };
    if (!dup) messages.push(msg);
    ack({ ok: true, message: msg });
    if (!dup) for (const u of members(p.conversationId)) io.to(`user:${u}`).emit('message:new', msg);
  });
  socket.on('typing', (p) => {
    for (const u of members(p.conversationId)) if (u !== uid) io.to(`user:${u}`).emit('typing', { conversationId: p.conversationId, userId: uid, typing: p.typing });
  });
  socket.on('read', (p) => {
    const m = convs.get(p.conversationId)?.members.find((x) => x.userId === uid);
    if (m && (!m.lastReadMessageId || p.messageId > m.lastReadMessageId)) m.lastReadMessageId = p.messageId;
    for (const u of members(p.conversationId)) io.to(`user:${u}`).emit('read', { ...p, userId: uid, at: new Date().toISOString() });
  });
  socket.on('disconnect', () => {
    const left = (online.get(uid) ?? 1) - 1;
    online.set(uid, left);
    if (left === 0) {
      lastSeen.set(uid, new Date().toISOString());
      for (const c of contacts()) io.to(`user:${c}`).emit('presence', { userId: uid, online: false, lastSeenAt: lastSeen.get(uid)! });
    }
  });
});

const port = Number(process.argv[2] ?? 8090);
server.listen(port, () => process.stdout.write(`mock stack on http://localhost:${port}\n`));
