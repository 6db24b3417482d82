import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { encodeTime, monotonicFactory } from 'ulid';
import { createTestIssuer } from '@chat/auth';
import type { Message } from '@chat/contracts';
import { createDatabase, type Database } from '@chat/db';
import { silentLogger } from '@chat/logger';
import { Broker } from '@chat/messaging';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@chat/testkit';
import type { App } from '@chat/http-kit';
import { buildApp, type Deps } from '../src/app';
import { createAccountsClient } from '../src/clients/accounts.client';
import { readConfig, type Config } from '../src/config';
import { createEventsConsumer, deadLetterTo } from '../src/consumers/events.consumer';
import { schema, type Schema } from '../src/repositories/schema';
import { createRepositories } from '../src/server';

const EPOCH = Date.UTC(2026, 0, 1);
const fresh = monotonicFactory();
/**
 * A message id (a ULID); `n` places it explicitly (ids sort by n: n is the id's millisecond), otherwise
 * a fresh one, increasing, after every placed one.
 */
export const messageId = (n?: number) =>
  n === undefined ? fresh(EPOCH + 10_000_000) : encodeTime(EPOCH + n) + '0'.repeat(16);

export const textMessage = (conversationId: string, senderId: string, over: Partial<Message> = {}): Message => ({
  id: messageId(),
  conversationId,
  senderId,
  clientMsgId: randomUUID(),
  createdAt: new Date().toISOString(),
  kind: 'text',
  body: 'hello',
  ...over,
});

/** A stand-in for accounts' internal conversation route: a real HTTP server answering from a map. */
async function startAccountsStub(): Promise<{
  url: string;
  conversations: Map<string, string[]>;
  calls: string[];
  close: () => Promise<void>;
}> {
  const conversations = new Map<string, string[]>();
  const calls: string[] = [];
  const app: FastifyInstance = Fastify();
  app.get<{ Params: { id: string } }>('/internal/v1/conversations/:id', async (req, reply) => {
    calls.push(req.params.id);
    const members = conversations.get(req.params.id);
    if (!members)
      return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'not found', retryable: false } });
    return {
      id: req.params.id,
      kind: 'room',
      title: 't',
      createdAt: new Date().toISOString(),
      members: members.map((userId) => ({ userId, role: 'member' })),
      sendable: true,
    };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, conversations, calls, close: () => app.close() };
}

export interface Harness {
  config: Config;
  db: TestDatabase;
  vhost: TestVhost;
  database: Database<Schema>;
  deps: Deps;
  app: App;
  publisher: Broker;
  accounts: Awaited<ReturnType<typeof startAccountsStub>>;
  sign: (userId: string) => Promise<string>;
  /** Starts a consumer: the app's own broker the first time, a fresh connection after that. */
  startConsumer: () => Promise<Broker>;
  stopConsumer: () => Promise<void>;
  history: (
    conversationId: string,
    userId: string,
    query?: Record<string, string | number>,
  ) => Promise<{ status: number; body: any }>;
  /** Publishes the full member list of a conversation, as accounts does. */
  setMembers: (conversationId: string, memberIds: string[], removedUserIds?: string[]) => Promise<void>;
  close: () => Promise<void>;
}

/** One test file's service: own database, own vhost, the real app and consumer, a publishing broker. */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const [db, vhost, issuer, accounts] = await Promise.all([
    createTestDatabase(),
    createTestVhost(),
    createTestIssuer(),
    startAccountsStub(),
  ]);
  const logger = silentLogger();
  const config = readConfig({
    DATABASE_URL: db.url,
    AMQP_URL: vhost.url,
    ACCOUNTS_URL: accounts.url,
    MEMBER_CACHE_MS: '0',
    ...env,
  });
  const database = createDatabase(config.DATABASE_URL, schema, logger);
  const publisher = new Broker({ url: vhost.url, logger });
  await publisher.connect(); // applies the topology: persistence.events exists before anything is published
  let consumer: Broker | null = null;
  // The app's broker (its consumer registered by buildApp) connects only at the first startConsumer:
  // until then events wait in the queue, as they do while persistence is down.
  const appBroker = new Broker({ url: vhost.url, logger });
  let appBrokerStarted = false;
  const deps: Deps = {
    ...createRepositories({ config, logger, database, accounts: createAccountsClient(config.ACCOUNTS_URL) }),
    config,
    logger,
    broker: appBroker,
    verifier: issuer.verifier,
  };
  const app = await buildApp(deps);
  const h: Harness = {
    config,
    db,
    vhost,
    database,
    deps,
    app,
    publisher,
    accounts,
    sign: (userId) => issuer.sign(userId),
    async startConsumer() {
      let b = appBroker;
      if (appBrokerStarted) {
        b = new Broker({ url: vhost.url, logger });
        await b.consume(createEventsConsumer({ ...deps, deadLetter: deadLetterTo(b) }));
      }
      appBrokerStarted = true;
      await b.connect();
      consumer = b;
      return b;
    },
    async stopConsumer() {
      await consumer?.close();
      consumer = null;
    },
    async history(conversationId, userId, query = {}) {
      const qs = new URLSearchParams(
        Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
      ).toString();
      const res = await app.inject({
        method: 'GET',
        url: `/api/v1/conversations/${conversationId}/messages${qs ? `?${qs}` : ''}`,
        headers: { authorization: `Bearer ${await issuer.sign(userId)}` },
      });
      return { status: res.statusCode, body: res.json() };
    },
    async setMembers(conversationId, memberIds, removedUserIds = []) {
      await publisher.publish('conversation.changed', {
        type: 'updated',
        conversation: {
          id: conversationId,
          kind: 'room',
          title: 'room',
          createdAt: new Date().toISOString(),
          members: memberIds.map((userId) => ({ userId, role: 'member' as const, lastReadMessageId: null })),
        },
        memberIds,
        removedUserIds,
      });
    },
    async close() {
      await h.stopConsumer();
      await publisher.close();
      await app.close();
      await database.close();
      await accounts.close();
      await Promise.all([db.drop(), vhost.drop()]);
    },
  };
  return h;
}
