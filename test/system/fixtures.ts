import { randomUUID } from 'node:crypto';
import { Api, type BenchUser, type ChatSocket } from '@chat/client';
import type { Message } from '@chat/contracts';

let counter = 0;
const prefix = () => `s${process.pid.toString(36)}${(counter++).toString(36)}${Date.now().toString(36).slice(-4)}`;

export interface Pair {
  api: Api;
  a: BenchUser;
  b: BenchUser;
  conversationId: string;
}

/** Two new users who are friends, and their direct conversation. */
export async function friendsPair(origin: string): Promise<Pair> {
  const api = new Api(origin);
  const p = prefix();
  const a = await api.register(p, 0);
  const b = await api.register(p, 1);
  const conversationId = await api.befriend(a, b);
  return { api, a, b, conversationId };
}

/** Collects `message:new` on a socket, deduplicated by id (delivery is at least once). */
export function collect(socket: ChatSocket): Map<string, Message> {
  const got = new Map<string, Message>();
  socket.on('message:new', (m) => got.set(m.id, m));
  return got;
}

export type SendResult = { ok: true; message: Message } | { ok: false; error: { code: string; retryable: boolean } };

export function send(
  socket: ChatSocket,
  conversationId: string,
  body: string,
  clientMsgId: string = randomUUID(),
  timeoutMs = 15_000,
  extra: { resend?: boolean } = {},
): Promise<SendResult> {
  return new Promise((resolve) => {
    socket
      .timeout(timeoutMs)
      .emit('message:send', { conversationId, clientMsgId, body, ...extra }, (err: Error | null, res?: SendResult) => {
        resolve(err || !res ? { ok: false, error: { code: 'TIMEOUT', retryable: true } } : res);
      });
  });
}

/** Sends `count` messages keeping at most `window` unacknowledged, calling `onAcked` after each ack. */
export async function sendMany(
  socket: ChatSocket,
  conversationId: string,
  count: number,
  window: number,
  onAcked?: (n: number) => void | Promise<void>,
) {
  const results: SendResult[] = new Array(count);
  let next = 0;
  let done = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (next < count && next - done < window) {
        const i = next++;
        void send(socket, conversationId, `message ${i}`).then(async (r) => {
          results[i] = r;
          done++;
          await onAcked?.(done);
          if (done === count) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  return results;
}
