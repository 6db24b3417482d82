/**
 * A single RabbitMQ node killed with -9 right after quorum queues were declared, supervised as
 * `npm start` runs it: once it accepts connections again, every queue confirms publishes within 15 s,
 * and the messages confirmed before the kill are still there.
 *
 * What this guards: RabbitMQ 3.10's Ra writes a new quorum-queue member's registration (names.dets)
 * to disk only after ~0.5 s without changes. A kill inside that window brought those queues back as
 * new, empty members that never elect a leader: no publish to them was confirmed again, ever (and
 * their messages were orphaned). `startRabbit` repairs the registry before each start
 * (packages/local-infra/src/ra-names.ts). A PRIVATE RabbitMQ, since this file kills it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ConfirmChannel } from 'amqplib';
import { freePort, startRabbit, type LocalRabbit } from '@chat/local-infra';
import { waitFor } from '@chat/testkit';

jest.setTimeout(180_000);

const QUORUM = { durable: true, arguments: { 'x-queue-type': 'quorum' } };
/** Sends confirmed again at most this long after the restarted node accepts connections. */
const CONFIRMS_BACK_WITHIN_MS = 15_000;

let dir: string;
let rabbit: LocalRabbit;
let backAt = 0;
const repaired: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chat-rabbit-crash-'));
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [port, managementPort, distPort] = [...ports] as [number, number, number];
  rabbit = await startRabbit({
    baseDir: join(dir, 'rabbit'),
    port,
    managementPort,
    distPort,
    nodeName: `chat-crash-${port}@localhost`,
    supervise: { onRestarted: () => (backAt = Date.now()) },
    onRepair: (members) => repaired.push(...members),
  });
});

afterAll(async () => {
  await rabbit?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One confirmed publish on a fresh connection; rejects when it is not confirmed within `timeoutMs`. */
async function publishConfirmed(queue: string, body: string, timeoutMs: number): Promise<void> {
  const conn = await amqp.connect(rabbit.url(), { timeout: 5_000 });
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${queue}: no confirm in ${timeoutMs} ms`)), timeoutMs);
      ch.publish('', queue, Buffer.from(body), { persistent: true }, (err) => {
        clearTimeout(timer);
        if (err) reject(new Error(`${queue}: nacked`));
        else resolve();
      });
    });
  } finally {
    await conn.close().catch(() => undefined);
  }
}

it('confirms publishes to every quorum queue again within 15 s of accepting, messages kept', async () => {
  const conn = await amqp.connect(rabbit.url());
  conn.on('error', () => undefined);
  const ch: ConfirmChannel = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  await ch.assertQueue('crash.held', QUORUM);
  for (let i = 0; i < 20; i++) ch.sendToQueue('crash.held', Buffer.from(`held ${i}`), { persistent: true });
  await ch.waitForConfirms();

  // Queues declared up to the moment of the kill: their members are the ones a crash left unregistered.
  const declared = ['crash.held'];
  let declaring = true;
  const loop = (async () => {
    for (let i = 0; declaring; i++) {
      await ch.assertQueue(`crash.q${i}`, QUORUM);
      declared.push(`crash.q${i}`);
    }
  })().catch(() => undefined);
  await waitFor(() => declared.length >= 4, 10_000, 'a few queues declared');

  const pid = rabbit.pid()!;
  process.kill(-pid, 'SIGKILL');
  declaring = false;
  await loop;
  await waitFor(() => rabbit.restarts() >= 1 && backAt > 0, 90_000, 'the supervisor to restart the node');
  expect(rabbit.pid()).not.toBe(pid);

  const pending = new Set(declared);
  await waitFor(
    async () => {
      await Promise.all(
        [...pending].map((q) =>
          publishConfirmed(q, 'after', 2_000).then(
            () => pending.delete(q),
            () => undefined,
          ),
        ),
      );
      if (pending.size > 0) throw new Error(`still unconfirmed: ${[...pending].join(', ')}`);
      return true;
    },
    CONFIRMS_BACK_WITHIN_MS + 30_000,
    'every queue to confirm again',
  );
  const confirmedAfterMs = Date.now() - backAt;
  process.stdout.write(
    `kill -9 with ${declared.length} quorum queues: ${repaired.length} member(s) re-registered; ` +
      `every queue confirming ${confirmedAfterMs} ms after the node accepted again\n`,
  );
  expect(confirmedAfterMs).toBeLessThanOrEqual(CONFIRMS_BACK_WITHIN_MS);

  // The 20 confirmed before the kill and the one after: nothing orphaned in a replaced member.
  const after = await amqp.connect(rabbit.url());
  try {
    const check = await after.createChannel();
    await waitFor(
      async () => (await check.checkQueue('crash.held')).messageCount === 21,
      10_000,
      'crash.held to hold its 21 messages',
    );
  } finally {
    await after.close();
  }
});
