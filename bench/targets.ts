import { Api, inBatches, type ChatSocket } from '@chat/client';
import { io } from 'socket.io-client';

export interface PairsSetup {
  users: Array<{ id: string }>;
  pairs: Array<{ a: { id: string; token: string }; b: { id: string; token: string }; conv: string }>;
  sockets: Map<string, ChatSocket>;
}

/** What the load tool drives: the stack through its public origin, or the bare relay. */
export interface Target {
  name: 'stack' | 'relay';
  /** U users in pairs, each pair with a conversation, one connected socket per user. */
  pairs(users: number): Promise<PairsSetup>;
  /** Stored copies of the given client message ids: how many distinct, how many duplicates (the stack only). */
  stored?(setup: PairsSetup, clientMsgIds: Set<string>): Promise<{ persisted: number; duplicates: number }>;
  /** Process names (bench/lib/procs.ts) whose CPU is this target's cost. */
  processes: string[];
}

const prefix = () => `b${Date.now().toString(36)}`;

export function stackTarget(origin: string): Target {
  const api = new Api(origin);
  return {
    name: 'stack',
    processes: ['gateway', 'delivery', 'persistence', 'accounts', 'rabbitmq'],
    async pairs(n) {
      const p = prefix();
      const users = await inBatches(
        Array.from({ length: n - (n % 2) }, (_, i) => i),
        8,
        (i) => api.register(p, i),
      );
      const pairs = [];
      for (let i = 0; i < users.length; i += 2)
        pairs.push({ a: users[i]!, b: users[i + 1]!, conv: await api.befriend(users[i]!, users[i + 1]!) });
      const sockets = new Map<string, ChatSocket>();
      await inBatches(users, 50, async (u) => sockets.set(u.id, await api.connect(u.token)));
      return { users, pairs, sockets };
    },
    async stored(setup, ids) {
      let duplicates = 0;
      const seen = new Set<string>();
      for (const p of setup.pairs) {
        for (const m of await api.history(p.conv, p.a.token)) {
          if (!ids.has(m.clientMsgId)) continue;
          if (seen.has(m.clientMsgId)) duplicates++;
          else seen.add(m.clientMsgId);
        }
      }
      return { persisted: seen.size, duplicates };
    },
  };
}

export function relayTarget(origin: string): Target {
  const connect = (userId: string) => {
    const s: ChatSocket = io(origin, {
      auth: { token: userId },
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    return new Promise<ChatSocket>((resolve, reject) => {
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
  };
  return {
    name: 'relay',
    processes: ['relay'],
    async pairs(n) {
      const p = prefix();
      const users = Array.from({ length: n - (n % 2) }, (_, i) => ({ id: `${p}-${i}`, token: `${p}-${i}` }));
      const sockets = new Map<string, ChatSocket>();
      await inBatches(users, 50, async (u) => sockets.set(u.id, await connect(u.id)));
      const pairs = [];
      for (let i = 0; i < users.length; i += 2) {
        const conv = `${p}-c${i}`;
        const s = sockets.get(users[i]!.id) as unknown as { emitWithAck: (ev: string, d: unknown) => Promise<unknown> };
        await s.emitWithAck('bench:conversation', { id: conv, memberIds: [users[i]!.id, users[i + 1]!.id] });
        pairs.push({ a: users[i]!, b: users[i + 1]!, conv });
      }
      return { users, pairs, sockets };
    },
  };
}
