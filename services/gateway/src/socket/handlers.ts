import { AppError, type DeliveryItem, type Message } from '@chat/contracts';
import type { Broker, PublishBatcher } from '@chat/messaging';
import type { ConversationMembership, MembershipClient } from '@chat/membership';
import type { RateLimiter } from '../rate-limit';
import { RecentSends, reused } from '../domain/recent-sends';
import type { ReadCursors } from '../typing/read-cursors';
import type { TypingTracker } from '../typing/typing-tracker';
import { ulidTime, type UlidFactory } from '../domain/message-ids';
import type { ClaimSend } from '../domain/claim';
import type { HandlerTable } from './handler-table';

export interface HandlerDeps {
  broker: Broker;
  directory: MembershipClient;
  recentSends: RecentSends;
  sendLimiter: RateLimiter;
  typingLimiter: RateLimiter;
  readLimiter: RateLimiter;
  ulid: UlidFactory;
  /**
   * A resend (`resend: true`) this gateway knows nothing of: history's message for it, storing this one
   * if there is none (an earlier attempt through another gateway may be stored, never acked).
   */
  claim: ClaimSend;
  /** Publishes `message.created`, batched with the other sends of the moment; resolves on the confirm. */
  messages: PublishBatcher<'message.created'>;
  /** This gateway's instance id: the `origin` of the messages it accepts. */
  instanceId: string;
  /**
   * Emits to this gateway's own sockets. A message accepted here is emitted by this gateway as soon as
   * the broker confirmed it; delivery routes it to the other gateways only (`Envelope.origin`).
   */
  deliver: (item: DeliveryItem) => void;
  /** Remembers which socket caused a read event, so its echo can skip that socket. */
  recentReads: Map<string, string>;
  /** Throttles, expires and clears typing indicators; publishes `typing.changed`. */
  typing: TypingTracker;
  /** The newest read per user and conversation: backward reads are not broadcast. */
  readCursors: ReadCursors;
}

/** Typing indicators are worthless after a few seconds: they expire in the broker. */
export const TYPING_TTL_MS = 5_000;
const RECENT_READS_MAX = 10_000;
/** Clock skew allowed between gateways when judging whether a read names a message accepted yet. */
export const READ_FUTURE_SKEW_MS = 60_000;

export const readKey = (userId: string, conversationId: string, messageId: string) =>
  `${userId}:${conversationId}:${messageId}`;

/**
 * The conversation if `userId` is a member: NOT_FOUND otherwise, and with `sendable`, FORBIDDEN when it
 * takes no messages. With `recheck`, a cached "no" is asked of accounts again before it refuses.
 */
async function memberOf(
  deps: HandlerDeps,
  conversationId: string,
  userId: string,
  { recheck = false, sendable = false } = {},
): Promise<ConversationMembership> {
  const allows = (c: ConversationMembership | null) => !!c && c.memberIds.has(userId) && (!sendable || c.sendable);
  let conv = await deps.directory.get(conversationId);
  // An event is refused on what accounts says now, not on a cached "no" that may be older than the
  // change allowing it (a friendship accepted again, a member added) while its event is on its way:
  // the client learnt of the change from accounts' answer or its own socket, maybe before this gateway.
  // One lookup per refused event: callers recheck only behind a rate limiter that event went through.
  if (recheck && !allows(conv)) conv = await deps.directory.recheck(conversationId);
  if (!conv) throw new AppError('NOT_FOUND', 'no such conversation');
  // A non-member learns no more than about an id that does not exist: the same answer as over HTTP.
  if (!conv.memberIds.has(userId)) throw new AppError('NOT_FOUND', 'no such conversation');
  // A conversation that takes no messages (unfriended, blocked) carries no typing either.
  if (sendable && !conv.sendable) throw new AppError('FORBIDDEN', 'this conversation no longer takes new messages');
  return conv;
}

async function limit(limiter: RateLimiter, userId: string, message: string): Promise<void> {
  const wait = await limiter.take(userId);
  if (wait > 0) throw new AppError('RATE_LIMITED', message, { retryAfterMs: wait });
}

/** The gateway's client events. Payloads arrive already parsed against the shared schemas. */
export function createHandlers(deps: HandlerDeps): HandlerTable {
  return {
    'message:send': {
      ackRequired: true,
      async handle(ctx, p) {
        // The id is taken on arrival, before any await: sends of one socket get ids (and so history
        // order) in the order they came, however long each one's checks take.
        const now = Date.now();
        const fresh = deps.ulid(now);
        await limit(deps.sendLimiter, ctx.userId, 'sending too fast, slow down');
        const key = RecentSends.key(ctx.userId, p.clientMsgId);
        const message = await deps.recentSends.acceptOnce(
          key,
          ctx.socketId,
          async (reuse) => {
            const conv = await memberOf(deps, p.conversationId, ctx.userId, { recheck: true, sendable: true });
            if ('body' in p && (conv.encrypted ?? (await deps.directory.encrypted(p.conversationId)))) {
              throw new AppError('FORBIDDEN', 'this conversation is end-to-end encrypted: send an encrypted payload');
            }
            let m: Message = {
              // A retry after a failed attempt (no confirm in time: the broker may have it) keeps its id.
              id: reuse?.id ?? fresh,
              conversationId: p.conversationId,
              senderId: ctx.userId,
              clientMsgId: p.clientMsgId,
              createdAt: reuse?.createdAt ?? new Date(now).toISOString(),
              ...('body' in p
                ? { kind: 'text' as const, body: p.body }
                : { kind: 'encrypted' as const, encrypted: p.encrypted }),
            };
            // A resend nobody here knows of: its first attempt may have gone through another gateway and
            // reached history without this gateway seeing its copy (the node it went through died
            // mid-publish). History decides the id, so the ack and history agree. Rare: a client that
            // stays on one gateway is known here (the reserve below), whatever became of its attempt.
            if (p.resend && !reuse) {
              m = await deps.claim(m);
              if (m.conversationId !== p.conversationId) throw reused();
            }
            // Resolves only once the broker confirmed: from here on the message is durable.
            deps.recentSends.reserve(key, m);
            await deps.messages.publish(m, { id: m.id, origin: deps.instanceId });
            // This gateway's members get it now, without a round trip through delivery and the broker.
            deps.deliver({
              event: 'message:new',
              data: m,
              userIds: [...conv.memberIds],
              exceptSocketId: ctx.socketId,
              sentAt: Date.parse(m.createdAt),
            });
            return m;
          },
          p.conversationId,
        );
        deps.typing.sent(ctx.userId, p.conversationId);
        return { message };
      },
    },
    typing: {
      ackRequired: false,
      async handle(ctx, p) {
        // Only what would reach the members counts: throttled refreshes are free, toggles are not.
        const counted = deps.typing.wouldPublish(ctx.userId, p.conversationId, p.typing);
        if (counted) await limit(deps.typingLimiter, ctx.userId, 'typing updates too fast, slow down');
        // A cached "no" is asked of accounts again only for an event the limiter counted: a stream of
        // uncounted ones (`typing: false` with no indicator up, which publishes nothing) costs no lookup.
        await memberOf(deps, p.conversationId, ctx.userId, { recheck: counted, sendable: true });
        // Throttled: most refreshes publish nothing; a state change waits for the broker's confirm.
        await deps.typing.set(ctx.userId, p.conversationId, p.typing);
        return {};
      },
    },
    read: {
      ackRequired: false,
      async handle(ctx, p) {
        await limit(deps.readLimiter, ctx.userId, 'read markers too fast, slow down');
        // Behind the limiter: a refused read costs at most one accounts lookup.
        await memberOf(deps, p.conversationId, ctx.userId, { recheck: true });
        // An id no gateway has issued yet (`7ZZZ...`) names no message. Persistence stores a marker
        // only for a message of that conversation; this keeps the live broadcast honest too.
        if (ulidTime(p.messageId) > Date.now() + READ_FUTURE_SKEW_MS)
          throw new AppError('VALIDATION', 'messageId names no message');
        // Not after the newest read already forwarded: the marker would not move, nobody is told.
        if (deps.readCursors.behind(ctx.userId, p.conversationId, p.messageId)) return {};
        const k = readKey(ctx.userId, p.conversationId, p.messageId);
        deps.recentReads.set(k, ctx.socketId);
        if (deps.recentReads.size > RECENT_READS_MAX) deps.recentReads.delete(deps.recentReads.keys().next().value!);
        await deps.broker.publish('message.read', {
          conversationId: p.conversationId,
          userId: ctx.userId,
          messageId: p.messageId,
          at: new Date().toISOString(),
        });
        deps.readCursors.record(ctx.userId, p.conversationId, p.messageId);
        return {};
      },
    },
  };
}
