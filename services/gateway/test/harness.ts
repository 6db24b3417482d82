import { randomUUID } from 'node:crypto';
import { io as connectClient, type Socket } from 'socket.io-client';
import { createTestIssuer } from '@chat/auth';
import type { Ack, ClientToServerEvents, Message, MessageSendPayload, ServerToClientEvents } from '@chat/contracts';
import { freePort } from '@chat/local-infra';
import {
  createTestVhost,
  startFakeAccounts,
  startService,
  type FakeAccounts,
  type RunningService,
  type TestVhost,
} from '@chat/testkit';
import type { Config } from '../src/config';
import { gatewayConfig, startGateway, type RunningGateway } from '../src/server';

export type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * The messaging path around the gateway: a fake accounts at its internal boundary, gateways started
 * in this process from `startGateway` on free ports, delivery workers as their own processes (a
 * service never imports another's source), one RabbitMQ vhost of the test file's own (or a given
 * broker URL).
 */
export interface Harness {
  amqpUrl: string;
  accounts: FakeAccounts;
  issuer: Awaited<ReturnType<typeof createTestIssuer>>;
  gateways: RunningGateway[];
  workers: RunningService[];
  startGateway(overrides?: Partial<Config>): Promise<RunningGateway>;
  /** A delivery worker process, once its /readyz answers 200. */
  startWorker(): Promise<RunningService>;
  /** A connected client of `userId` on `gw`; rejects with the connect_error. */
  connect(gw: RunningGateway, userId: string): Promise<Client>;
  close(): Promise<void>;
}

export async function createHarness(opts: { amqpUrl?: string } = {}): Promise<Harness> {
  let vhost: TestVhost | undefined;
  const amqpUrl = opts.amqpUrl ?? (vhost = await createTestVhost()).url;
  const accounts = await startFakeAccounts();
  const issuer = await createTestIssuer();
  const clients: Client[] = [];
  const h: Harness = {
    amqpUrl,
    accounts,
    issuer,
    gateways: [],
    workers: [],
    async startGateway(overrides = {}) {
      const gw = await startGateway(
        gatewayConfig({
          PORT: 0,
          AMQP_URL: amqpUrl,
          ACCOUNTS_URL: accounts.url,
          PERSISTENCE_URL: accounts.url,
          INSTANCE_ID: `test-${randomUUID()}`,
          ...overrides,
        }),
        {
          verifier: issuer.verifier,
        },
      );
      h.gateways.push(gw);
      return gw;
    },
    async startWorker() {
      const w = await startService('delivery', {
        PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
        AMQP_URL: amqpUrl,
        ACCOUNTS_URL: accounts.url,
        INSTANCE_ID: `test-${randomUUID()}`,
      });
      h.workers.push(w);
      return w;
    },
    async connect(gw, userId) {
      const token = await issuer.sign(userId, `u${userId.slice(0, 8)}`);
      const s: Client = connectClient(gw.url, {
        auth: { token },
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
      });
      clients.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', (err) => reject(err));
      });
      return s;
    },
    async close() {
      for (const c of clients) c.disconnect();
      await Promise.allSettled(h.gateways.map((g) => g.close()));
      await Promise.allSettled(h.workers.map((w) => w.stop()));
      await accounts.close();
      await vhost?.drop();
    },
  };
  return h;
}

export const textSend = (
  conversationId: string,
  body = 'hello',
  clientMsgId: string = randomUUID(),
): MessageSendPayload => ({ conversationId, clientMsgId, body });

/** Sends and resolves with the ack (rejects if none within the timeout). */
export function send(s: Client, payload: unknown, timeoutMs = 15_000): Promise<Ack<{ message: Message }>> {
  return (
    s.timeout(timeoutMs) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<{ message: Message }>> }
  ).emitWithAck('message:send', payload);
}

/** Every `event` a socket receives from now on. */
export function collect<T = Message>(s: Client, event: keyof ServerToClientEvents = 'message:new'): T[] {
  const got: T[] = [];
  (s as unknown as { on: (e: string, l: (p: T) => void) => void }).on(event, (p: T) => got.push(p));
  return got;
}

/**
 * What accounts does when a room's members change: the fake accounts learns the new member list and
 * `conversation.changed` announces it on the broker (everyone a plain member).
 */
export async function changeRoomMembers(
  h: Harness,
  gw: RunningGateway,
  room: { id: string; createdAt: string },
  change: { type: 'member_added' | 'member_removed'; memberIds: string[]; userId: string; removedUserIds?: string[] },
): Promise<void> {
  h.accounts.conversation(change.memberIds, { id: room.id, kind: 'room' });
  await gw.broker.publish('conversation.changed', {
    type: change.type,
    conversation: {
      id: room.id,
      kind: 'room',
      title: null,
      createdAt: room.createdAt,
      members: change.memberIds.map((userId) => ({ userId, role: 'member' as const, lastReadMessageId: null })),
    },
    memberIds: change.memberIds,
    removedUserIds: change.removedUserIds ?? [],
    userId: change.userId,
  });
}
