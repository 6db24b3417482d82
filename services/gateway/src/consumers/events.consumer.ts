import type { AnyEnvelope } from '@chat/contracts';
import { PRIVATE_QUEUES, type Broker } from '@chat/messaging';
import type { MembershipClient } from '@chat/membership';
import type { PresenceReporter } from '../presence/presence-reporter';
import type { RecentSends } from '../domain/recent-sends';

/**
 * This instance's own copy of the domain events that concern it: membership changes (cache
 * invalidation), a delivery worker asking where users are (answered with a heartbeat at once), and
 * every accepted send (so a resend through this gateway keeps the id another gateway gave it).
 */
export async function startEventsConsumer(deps: { broker: Broker; instanceId: string; directory: MembershipClient; presence: PresenceReporter; recentSends: RecentSends }): Promise<void> {
  await deps.broker.consume({
    queue: PRIVATE_QUEUES.gatewayEvents(deps.instanceId),
    maxAttempts: 1,
    handle: async (items: AnyEnvelope[]) => {
      let asked = false;
      for (const e of items) {
        // Every gateway learns every accepted send: a resend through it after another gateway crashed gets the same id.
        if (e.type === 'message.created') deps.recentSends.learn(e.payload);
        else if (e.type === 'conversation.changed') deps.directory.onConversationChanged(e.payload);
        else if (e.type === 'friendship.changed') deps.directory.onUsersChanged(e.payload.userIds);
        else if (e.type === 'sessions.requested') asked = true;
      }
      // One heartbeat answers every worker that asked in this batch.
      if (asked) deps.presence.heartbeat();
    },
  });
}
