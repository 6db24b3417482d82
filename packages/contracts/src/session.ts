import { z } from 'zod';
import { Uuid } from './ids';

/**
 * Resumable socket sessions. Every server-to-client event carries a second argument `{ seq }`: its
 * sequence number in this socket session (1, 2, 3...). The first event on every connection is
 * `session`. A client that reconnects sends `auth.resume = { sessionId, seq }` (the last seq it
 * processed); within the window the gateway replays what it missed, else it answers `resumed: false`
 * and the client must resync over HTTP.
 */
export const EventMeta = z.object({ seq: z.number().int().min(1) });
export type EventMeta = z.infer<typeof EventMeta>;

export const ResumeRequest = z.strictObject({ sessionId: Uuid, seq: z.number().int().min(0) });
export type ResumeRequest = z.infer<typeof ResumeRequest>;

export const SessionEvent = z.object({
  sessionId: Uuid,
  /** True: the events after your `seq` follow, then live ones. False: a new session (seq starts at 1). */
  resumed: z.boolean(),
  /** The last seq assigned before this connection: with `resumed`, what the replay ends at. */
  seq: z.number().int().min(0),
  /** Why a requested resume was refused; the client must resync (friends, requests, conversations, history). */
  resync: z.enum(['unknown_session', 'too_far_behind', 'invalid']).optional(),
  /** How long a dropped session stays resumable here. */
  windowMs: z.number().int(),
});
export type SessionEvent = z.infer<typeof SessionEvent>;
