import { sql } from 'drizzle-orm';
import { ENVELOPE_VERSION } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { EXCHANGES, type Broker } from '@chat/messaging';
import type { Db } from '../repositories/types';

/** Any constant: the one advisory lock that makes a single relay publish at a time. */
export const RELAY_LOCK = 0x6f7574626f78;
/**
 * When another relay holds the lock, look again this soon: it may have claimed its rows before this
 * instance's commit, and the poll (the fallback for everything else) is seconds apart.
 */
const LOCK_BUSY_RETRY_MS = 25;

export interface OutboxRelay {
  /** Publish pending rows now (after a commit) instead of waiting for the next poll. */
  kick: () => void;
  /** One pass: publishes up to a batch, returns how many rows it marked sent. */
  drain: () => Promise<number>;
  start: () => void;
  stop: () => Promise<void>;
}

interface Row extends Record<string, unknown> {
  seq: number;
  event_id: string;
  type: string;
  payload: unknown;
  trace_id: string;
  occurred_at: Date;
}

/**
 * Publishes outbox rows in commit order with broker confirms and marks them sent. Rows are claimed
 * with FOR UPDATE SKIP LOCKED, and a transaction-scoped advisory lock lets only one relay (of several
 * accounts instances) work at a time, so batches are never published out of order or twice.
 * Delivery is at least once: a crash between the confirm and the commit re-publishes the same
 * envelope id, which consumers de-duplicate.
 */
export function createOutboxRelay(opts: {
  db: Db;
  broker: Broker;
  logger: Logger;
  pollMs: number;
  batch: number;
}): OutboxRelay {
  const { db, broker, logger } = opts;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = true;
  let lockBusy = false;
  let retry: NodeJS.Timeout | null = null;

  const drain = async (): Promise<number> => {
    if (!broker.isConnected) return 0;
    return db.transaction(async (tx) => {
      const lock = await tx.execute<{ ok: boolean }>(sql`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as ok`);
      if (!lock.rows[0]?.ok) {
        lockBusy = true;
        return 0;
      }
      const { rows } = await tx.execute<Row>(sql`
        select seq, event_id, type, payload, trace_id, occurred_at from accounts.outbox
        where sent_at is null order by seq limit ${opts.batch} for update skip locked`);
      if (!rows.length) return 0;
      // Publish the whole batch on one confirm channel (order kept), then mark the confirmed prefix.
      const results = await Promise.allSettled(
        rows.map((r) => {
          const env = {
            v: ENVELOPE_VERSION,
            type: r.type,
            id: r.event_id,
            occurredAt: new Date(r.occurred_at).toISOString(),
            traceId: r.trace_id,
            payload: r.payload,
          };
          return broker.publishRaw(EXCHANGES.events, r.type, Buffer.from(JSON.stringify(env)), {
            messageId: r.event_id,
            type: r.type,
            persistent: true,
            headers: { traceId: r.trace_id },
          });
        }),
      );
      let confirmed = 0;
      while (confirmed < results.length && results[confirmed]!.status === 'fulfilled') confirmed++;
      if (confirmed < results.length) {
        const failed = results[confirmed] as PromiseRejectedResult;
        logger.warn(
          { err: (failed.reason as Error).message, pending: rows.length - confirmed },
          'outbox publish failed; will retry',
        );
      }
      if (confirmed) {
        // Exactly the claimed rows: a range could cover a row that committed late and was never read.
        const seqs = rows.slice(0, confirmed).map((r) => Number(r.seq));
        await tx.execute(
          sql`update accounts.outbox set sent_at = now() where seq = any(${`{${seqs.join(',')}}`}::bigint[])`,
        );
      }
      return confirmed;
    });
  };

  // Sent rows are only history: drop them after a day so the table stays small.
  let lastPrune = 0;
  const prune = async () => {
    if (Date.now() - lastPrune < 10 * 60_000) return;
    lastPrune = Date.now();
    await db.execute(sql`delete from accounts.outbox where sent_at < now() - interval '1 day'`);
  };

  const loop = async () => {
    do {
      again = false;
      lockBusy = false;
      try {
        const n = await drain();
        // A full batch means more may be waiting: go again at once.
        if (n >= opts.batch) again = true;
        else if (!lockBusy) await prune();
      } catch (err) {
        logger.warn({ err }, 'outbox relay pass failed');
      }
    } while (again && !stopped);
    // Another relay is publishing: what this instance just committed may not be in its batch.
    if (lockBusy && !stopped && !retry) {
      retry = setTimeout(() => {
        retry = null;
        run();
      }, LOCK_BUSY_RETRY_MS);
      retry.unref();
    }
  };

  const run = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = loop().finally(() => {
      running = null;
    });
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      run();
      schedule();
    }, opts.pollMs);
    timer.unref();
  };

  // Reconnected: publish what piled up while the broker was away.
  broker.on('connect', run);

  return {
    kick: run,
    drain,
    start: () => {
      if (!stopped) return;
      stopped = false;
      run();
      schedule();
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (retry) clearTimeout(retry);
      broker.off('connect', run);
      await running;
    },
  };
}
