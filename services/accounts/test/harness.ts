import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import type { InjectOptions } from 'fastify';
import { parseEnvelope, type Envelope } from '@chat/contracts';
import { createDatabase, type Database } from '@chat/db';
import { silentLogger } from '@chat/logger';
import { Broker, EXCHANGES } from '@chat/messaging';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@chat/testkit';
import { buildApp, type AccountsApp } from '../src/app';
import { Config } from '../src/config';
import { loadOrCreateSigningKeys, type SigningKeys } from '../src/auth/key-store';
import { schema } from '../src/repositories/schema';

export type Env = Record<string, string>;

/** Tests register many users and rooms from one address: limits are tested where they are set. */
export const generousLimits: Env = {
  REGISTER_RATE_MAX_PER_ADDRESS: '100000',
  ROOM_CREATE_RATE_MAX: '100000',
  INVITE_RATE_MAX: '100000',
  FRIEND_REQUEST_RATE_MAX: '100000',
};

/** One accounts app over a given database and broker URL, with config from `env` (as main.ts reads it). */
export async function buildAccounts(opts: {
  dbUrl: string;
  amqpUrl: string;
  keys: SigningKeys;
  env?: Env;
  connectBroker?: boolean;
}) {
  const config = Config.parse({
    DATABASE_URL: opts.dbUrl,
    AMQP_URL: opts.amqpUrl,
    KEYS_DIR: '/nonexistent',
    PERSISTENCE_URL: 'http://127.0.0.1:9',
    PERSISTENCE_TIMEOUT_MS: '300',
    ...generousLimits,
    ...opts.env,
  });
  const logger = silentLogger();
  const database = createDatabase(config.DATABASE_URL, schema, logger);
  const broker = new Broker({ url: config.AMQP_URL, logger, confirmTimeoutMs: 2_000 });
  if (opts.connectBroker !== false) await broker.connect();
  const app = await buildApp({ config, logger, database, broker, keys: opts.keys });
  await app.ready();
  return {
    app,
    broker,
    database,
    config,
    close: async () => {
      await app.close();
      await broker.close();
      await database.close();
    },
  };
}

export interface Harness {
  app: AccountsApp;
  broker: Broker;
  database: Database<typeof schema>;
  tdb: TestDatabase;
  vhost: TestVhost;
  keys: SigningKeys;
  keysDir: string;
  /** Another app instance over the same database and vhost (e.g. with other limits). */
  another: (env?: Env) => Promise<Awaited<ReturnType<typeof buildAccounts>>>;
  close: () => Promise<void>;
}

/** A test file's own database, vhost, signing keys and accounts app. */
export async function startHarness(env: Env = {}): Promise<Harness> {
  const [tdb, vhost] = await Promise.all([createTestDatabase(), createTestVhost()]);
  const keysDir = mkdtempSync(join(tmpdir(), 'accounts-keys-'));
  const keys = await loadOrCreateSigningKeys(keysDir);
  const main = await buildAccounts({ dbUrl: tdb.url, amqpUrl: vhost.url, keys, env });
  const extra: Array<{ close: () => Promise<void> }> = [];
  return {
    ...main,
    tdb,
    vhost,
    keys,
    keysDir,
    another: async (e = {}) => {
      const a = await buildAccounts({ dbUrl: tdb.url, amqpUrl: vhost.url, keys, env: { ...env, ...e } });
      extra.push(a);
      return a;
    },
    close: async () => {
      await Promise.all(extra.map((a) => a.close()));
      await main.close();
      await Promise.all([tdb.drop(), vhost.drop()]);
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

/** `app.inject` with a bearer token and a parsed JSON body. */
export async function call<T = any>(
  app: AccountsApp,
  method: InjectOptions['method'],
  url: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Res<T>> {
  const res = await app.inject({
    method,
    url,
    headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { payload: opts.body as InjectOptions['payload'] } : {}),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}

export interface TestUser {
  id: string;
  username: string;
  token: string;
  refreshToken: string;
}

let counter = 0;
export const uniqueName = (prefix = 'u') =>
  `${prefix}${process.pid % 1000}_${Date.now() % 100000}_${counter++}`.slice(0, 32);

export async function registerUser(
  app: AccountsApp,
  username = uniqueName(),
  password = 'correct horse',
): Promise<TestUser> {
  const res = await call(app, 'POST', '/api/v1/auth/register', { body: { username, password } });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    id: res.body.user.id,
    username: res.body.user.username,
    token: res.body.accessToken,
    refreshToken: res.body.refreshToken,
  };
}

/** Makes two users friends through the API (request + accept); returns the direct conversation id. */
export async function befriend(app: AccountsApp, a: TestUser, b: TestUser): Promise<string> {
  const req = await call(app, 'POST', '/api/v1/friends/requests', { token: a.token, body: { username: b.username } });
  if (req.status !== 201) throw new Error(`request: ${req.status} ${JSON.stringify(req.body)}`);
  const acc = await call(app, 'POST', `/api/v1/friends/requests/${req.body.id}/accept`, { token: b.token });
  if (acc.status !== 200) throw new Error(`accept: ${acc.status} ${JSON.stringify(acc.body)}`);
  return acc.body.conversationId;
}

/** A queue of this test's own bound to every domain event: what other services would see. */
export async function tapEvents(amqpUrl: string, queue = `tap-${counter++}`) {
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGES.events, 'topic', { durable: true });
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, EXCHANGES.events, '#');
  const events: Envelope[] = [];
  const raw: string[] = [];
  await ch.consume(queue, (m) => {
    if (!m) return;
    raw.push(m.content.toString());
    events.push(parseEnvelope(JSON.parse(m.content.toString())));
    ch.ack(m);
  });
  return { events, raw, close: () => conn.close().catch(() => undefined) };
}

/** Up to six fresh users, typed as a tuple so they destructure without undefined checks. */
export type Users = [TestUser, TestUser, TestUser, TestUser, TestUser, TestUser];
export async function registerUsers(app: AccountsApp, n: number): Promise<Users> {
  if (n > 6) throw new Error('at most six at once');
  return (await Promise.all(Array.from({ length: n }, () => registerUser(app)))) as Users;
}
