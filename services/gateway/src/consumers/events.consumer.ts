import type { AnyEnvelope } from '@chat/contracts';
import { PRIVATE_QUEUES, type Broker } from '@chat/messaging';
import type { ConversationDirectory } from '../conversations.directory';
import type { PresenceReporter } from '../presence/presence-reporter';

/**
 * This instance's own copy of the domain events that concern it: membership changes (cache
 * invalidation) and a delivery worker asking where users are (answered with a heartbeat at once).
 */
export async function startEventsConsumer(deps: { broker: Broker; instanceId: string; directory: ConversationDirectory; presence: PresenceReporter }): Promise<void> {
  await deps.broker.consume({
    queue: PRIVATE_QUEUES.gatewayEvents(deps.instanceId),
    maxAttempts: 1,
    handle: async (items: AnyEnvelope[]) => {
      let asked = false;
      for (const e of items) {
        if (e.type === 'conversation.changed') deps.directory.onConversationChanged(e.payload);
        else if (e.type === 'friendship.changed') deps.directory.onUsersChanged(e.payload.userIds);
        else if (e.type === 'sessions.requested') asked = true;
      }
      // One heartbeat answers every worker that asked in this batch.
      if (asked) deps.presence.heartbeat();
    },
  });
}
