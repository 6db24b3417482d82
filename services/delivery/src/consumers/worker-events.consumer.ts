import type { AnyEnvelope } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { PRIVATE_QUEUES, type Broker } from '@chat/messaging';
import type { SessionRegistry } from '../domain/sessions';
import type { MembershipClient } from '@chat/membership';

export interface WorkerEventsDeps {
  broker: Broker;
  workerId: string;
  sessions: SessionRegistry;
  directory: MembershipClient;
  logger: Logger;
  /** After asking the gateways, how long to wait at most for their answers before routing (first connect). */
  warmupMs: number;
}

/** Once answers arrive, routing starts this long after the last one (the gateways answer together). */
const QUIET_MS = 100;

/**
 * This worker's private copy of every session report and membership change, so every competing
 * worker knows every session and member list. On every (re)connect the worker publishes
 * `sessions.requested`; each gateway answers with a heartbeat (its full list). The first time, routing
 * waits for those answers (the promise returned), so a fresh worker does not drop live deliveries for
 * want of knowing where users are.
 */
export async function startWorkerEvents(deps: WorkerEventsDeps): Promise<{ ready: Promise<void>; stop: () => void }> {
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  let quiet: NodeJS.Timeout | null = null;
  let warm = false;
  const settle = () => {
    if (warm) return;
    warm = true;
    markReady();
  };
  await deps.broker.consume({
    queue: PRIVATE_QUEUES.workerEvents(deps.workerId),
    maxAttempts: 1,
    batchSize: 256,
    handle: async (items: AnyEnvelope[]) => {
      for (const e of items) {
        if (e.type === 'gateway.heartbeat') {
          deps.sessions.heartbeat(e.payload.gatewayId, e.payload.userIds, e.payload.intervalMs);
          if (!warm) {
            if (quiet) clearTimeout(quiet);
            quiet = setTimeout(settle, QUIET_MS);
          }
        } else if (e.type === 'presence.reported')
          deps.sessions.reported(e.payload.gatewayId, e.payload.userId, e.payload.online);
        else if (e.type === 'conversation.changed') deps.directory.onConversationChanged(e.payload);
      }
    },
  });
  const ask = () => {
    deps.broker
      .publish('sessions.requested', { workerId: deps.workerId })
      .catch((err) =>
        deps.logger.warn({ err: (err as Error).message }, 'sessions request not published; heartbeats will do'),
      );
  };
  deps.broker.on('connect', ask);
  deps.broker.once('connect', () => setTimeout(settle, deps.warmupMs).unref());
  if (deps.broker.isConnected) {
    ask();
    setTimeout(settle, deps.warmupMs).unref();
  }
  const sweep = setInterval(() => deps.sessions.sweep(), 1_000);
  sweep.unref();
  return {
    ready,
    stop: () => {
      clearInterval(sweep);
      if (quiet) clearTimeout(quiet);
      deps.broker.off('connect', ask);
    },
  };
}
