import { randomUUID } from 'node:crypto';
import type { AnyEnvelope, Presence } from '@chat/contracts';
import { isTransientDbError } from '@chat/db';
import type { Logger } from '@chat/logger';
import { QUEUES, type Broker } from '@chat/messaging';
import type { Db, Tx } from '../repositories/types';
import { enqueue } from '../outbox/outbox';
import { createPresenceRepository } from './presence.repository';

export interface PresenceOptions {
  db: Db;
  broker: Broker;
  logger: Logger;
  /** Wakes the outbox relay after a transition committed. */
  kickOutbox: () => void;
  /** How long a `presence.reported` online keeps its session without a heartbeat (25 s). */
  sessionTtlMs: number;
  /** A heartbeat keeps its sessions this many of its intervals (2.5: one lost heartbeat is fine). */
  heartbeatTtlFactor: number;
  /** Going offline waits this long for a reconnect (3 s). */
  graceMs: number;
  /** Sweeper cadence (1 s). */
  sweepMs: number;
  prefetch: number;
  batchSize: number;
}

export interface PresenceService {
  /** Registers the `accounts.presence` consumer (it starts on every broker (re)connect). */
  consume(): Promise<void>;
  startSweeper(): void;
  stop(): Promise<void>;
  /** One sweeper pass, for tests. */
  sweep(): Promise<Presence[]>;
}

/** drizzle wraps driver errors: the code is on the cause. */
const isTransient = (err: unknown): boolean =>
  isTransientDbError(err) || (err instanceof Error && err.cause !== undefined && isTransientDbError(err.cause));

async function publishAll(tx: Tx, changes: Presence[], traceId: string): Promise<void> {
  for (const p of changes) await enqueue(tx, 'presence.changed', p, traceId);
}

/**
 * Accounts decides presence from the gateways' reports (docs/internal-contracts.md). A batch of reports
 * and heartbeats is applied in one transaction together with the outbox rows of the transitions it
 * caused, so a crash never loses or duplicates an announced change; the sweeper expires dead gateways'
 * sessions and ends the grace of pending offlines.
 */
export function createPresenceService(opts: PresenceOptions): PresenceService {
  const { db, logger } = opts;
  let timer: NodeJS.Timeout | null = null;
  let sweeping: Promise<unknown> = Promise.resolve();
  /** One-shot sweeps at the end of a grace: the offline event comes at the grace, not up to a tick later. */
  const wakes = new Set<NodeJS.Timeout>();

  const handle = async (items: AnyEnvelope[]) => {
    const changes = await db.transaction(async (tx) => {
      const repo = createPresenceRepository(tx);
      const touched = new Set<string>();
      for (const e of items) {
        if (e.type === 'presence.reported') {
          const p = e.payload;
          if (p.online) await repo.touch(p.gatewayId, [p.userId], opts.sessionTtlMs);
          else await repo.drop(p.gatewayId, p.userId);
          touched.add(p.userId);
        } else if (e.type === 'gateway.heartbeat') {
          const h = e.payload;
          await repo.touch(h.gatewayId, h.userIds, Math.ceil(h.intervalMs * opts.heartbeatTtlFactor));
          for (const u of await repo.dropAllBut(h.gatewayId, h.userIds)) touched.add(u);
          for (const u of h.userIds) touched.add(u);
        }
      }
      const online = await repo.reconcile([...touched]);
      await publishAll(tx, online, items[0]?.traceId ?? randomUUID());
      return online;
    });
    if (changes.length) opts.kickOutbox();
    const wentOffline = items.some((e) => e.type === 'presence.reported' && !(e.payload as { online: boolean }).online);
    if (timer && wentOffline) wakeAfterGrace();
  };

  const wakeAfterGrace = () => {
    const t = setTimeout(() => {
      wakes.delete(t);
      if (!timer) return;
      sweeping = Promise.all([
        sweeping,
        sweep().catch((err) =>
          logger.warn({ err: (err as Error).message }, 'presence sweep failed; the next tick retries'),
        ),
      ]);
    }, opts.graceMs + 25);
    t.unref();
    wakes.add(t);
  };

  const sweep = async (): Promise<Presence[]> => {
    const offline = await db.transaction(async (tx) => {
      const gone = await createPresenceRepository(tx).sweep(opts.graceMs);
      await publishAll(tx, gone, randomUUID());
      return gone;
    });
    if (offline.length) opts.kickOutbox();
    return offline;
  };

  const tick = () => {
    sweeping = sweep()
      .catch((err) => logger.warn({ err: (err as Error).message }, 'presence sweep failed; retrying next tick'))
      .finally(() => {
        if (timer) timer = setTimeout(tick, opts.sweepMs);
      });
  };

  return {
    consume: () =>
      opts.broker.consume<AnyEnvelope>({
        queue: QUEUES.accountsPresence.name,
        prefetch: opts.prefetch,
        batchSize: opts.batchSize,
        isTransient,
        retryDelayMs: 500,
        handle,
      }),
    startSweeper() {
      if (timer) return;
      timer = setTimeout(tick, opts.sweepMs);
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      for (const t of wakes) clearTimeout(t);
      wakes.clear();
      await sweeping;
    },
    sweep,
  };
}
