import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  freePort,
  startPostgres,
  startRabbit,
  findRabbitServer,
  findPostgresBin,
  type LocalPostgres,
  type LocalRabbit,
} from '@chat/local-infra';

/** What the global set-up hands every test file, through the environment. */
export interface InfraEnv {
  CHAT_TEST_PG_ADMIN_URL: string;
  CHAT_TEST_PG_TEMPLATE: string;
  CHAT_TEST_AMQP_BASE: string;
  CHAT_TEST_RMQ_MGMT: string;
}

export interface Infra {
  env: InfraEnv;
  stop: () => Promise<void>;
}

export const TEMPLATE_DB = 'chat_template';

/** A container runtime answers: Testcontainers can be used. */
export function containerRuntimeAvailable(): boolean {
  if (process.env.CHAT_TEST_INFRA === 'local') return false;
  if (process.env.CHAT_TEST_INFRA === 'containers') return true;
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

async function localInfra(): Promise<Infra> {
  if (!findPostgresBin()) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql');
  if (!findRabbitServer()) throw new Error('RabbitMQ is not installed: apt-get install -y rabbitmq-server');
  const dir = mkdtempSync(join(tmpdir(), 'chat-test-'));
  const [pgPort, amqpPort, mgmtPort, distPort] = (await uniquePorts(4)) as [number, number, number, number];
  let pg: LocalPostgres | undefined;
  let rabbit: LocalRabbit | undefined;
  try {
    [pg, rabbit] = await Promise.all([
      startPostgres({ dataDir: join(dir, 'pg'), port: pgPort, fast: true }),
      startRabbit({
        baseDir: join(dir, 'rabbit'),
        port: amqpPort,
        managementPort: mgmtPort,
        distPort,
        nodeName: `chat-test-${amqpPort}@localhost`,
      }),
    ]);
  } catch (err) {
    await Promise.allSettled([pg?.stop(), rabbit?.kill()]);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const p = pg;
  const r = rabbit;
  return {
    env: {
      CHAT_TEST_PG_ADMIN_URL: p.url('postgres'),
      CHAT_TEST_PG_TEMPLATE: TEMPLATE_DB,
      CHAT_TEST_AMQP_BASE: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      CHAT_TEST_RMQ_MGMT: `http://127.0.0.1:${mgmtPort}`,
    },
    stop: async () => {
      await Promise.allSettled([p.stop(), r.kill()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function containerInfra(): Promise<Infra> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
  const [pg, rabbit] = await Promise.all([
    new PostgreSqlContainer('postgres:16-alpine')
      .withUsername('chat')
      .withPassword('chat')
      .withDatabase('postgres')
      .start(),
    new RabbitMQContainer('rabbitmq:3.13-management-alpine').withExposedPorts(5672, 15672).start(),
  ]);
  return {
    env: {
      CHAT_TEST_PG_ADMIN_URL: pg.getConnectionUri(),
      CHAT_TEST_PG_TEMPLATE: TEMPLATE_DB,
      CHAT_TEST_AMQP_BASE: `amqp://guest:guest@${rabbit.getHost()}:${rabbit.getMappedPort(5672)}`,
      CHAT_TEST_RMQ_MGMT: `http://${rabbit.getHost()}:${rabbit.getMappedPort(15672)}`,
    },
    stop: async () => {
      await Promise.allSettled([pg.stop(), rabbit.stop()]);
    },
  };
}

/**
 * Brings up Postgres and RabbitMQ once per test run and builds the template database that each test
 * file clones: Testcontainers where a container runtime is reachable, local servers otherwise.
 */
export async function startInfra(migrate: (url: string) => Promise<void>): Promise<Infra> {
  const infra = containerRuntimeAvailable() ? await containerInfra() : await localInfra();
  try {
    const admin = new Client({ connectionString: infra.env.CHAT_TEST_PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`drop database if exists ${TEMPLATE_DB}`);
    await admin.query(`create database ${TEMPLATE_DB}`);
    await admin.end();
    await migrate(infra.env.CHAT_TEST_PG_ADMIN_URL.replace(/\/[^/?]*(\?|$)/, `/${TEMPLATE_DB}$1`));
  } catch (err) {
    await infra.stop();
    throw err;
  }
  return infra;
}

async function uniquePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
