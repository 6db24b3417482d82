import type { AnyEnvelope, EventPayload } from '@chat/contracts';
import type { ConsumerSpec } from './consumer';
import { PRIVATE_QUEUES, applyRevocationTopology } from './topology';

/**
 * A consumer of every `session.revoked` on a queue private to one process (`<service>.<id>.revoked`,
 * declared on every (re)connect): how accounts and persistence instances learn, within moments, that a
 * session's access tokens must be refused. Nothing in it is retried: a set entry is idempotent.
 */
export function revokedSessionsConsumer(
  service: string,
  instanceId: string,
  onRevoked: (e: EventPayload<'session.revoked'>) => void,
): ConsumerSpec<AnyEnvelope> {
  const queue = PRIVATE_QUEUES.revokedSessions(service, instanceId);
  return {
    queue,
    maxAttempts: 1,
    batchSize: 64,
    declare: (ch) => applyRevocationTopology(ch, queue),
    handle: async (items) => {
      for (const e of items) if (e.type === 'session.revoked') onRevoked(e.payload);
    },
  };
}
