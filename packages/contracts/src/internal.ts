import { z } from 'zod';

/**
 * Accounts' internal answers that other services read (docs/internal-contracts.md). Only the fields
 * the readers use are required; the rest passes through.
 */
export const InternalConversation = z.looseObject({
  id: z.string(),
  kind: z.enum(['direct', 'room']),
  members: z.array(z.looseObject({ userId: z.string() })),
  sendable: z.boolean(),
  /** End-to-end encrypted (docs/e2e.md): the gateway refuses plaintext sends. Absent means false. */
  encrypted: z.boolean().optional(),
});
export type InternalConversation = z.infer<typeof InternalConversation>;

/** `POST /internal/v1/contacts` `{ userIds }` answers friends and co-members per user. */
export const InternalContactsRequest = z.object({ userIds: z.array(z.string()).min(1).max(1_000) });
export const InternalContacts = z.object({ contacts: z.record(z.string(), z.array(z.string())) });
export type InternalContacts = z.infer<typeof InternalContacts>;

/**
 * `GET /internal/v1/sessions/revoked`: the sessions ended (logout, refresh-token reuse) whose access
 * tokens may still be unexpired, with when the last of them expires. Services load it at start-up.
 */
export const RevokedSessionsList = z.object({
  sessions: z.array(z.object({ sessionId: z.string(), until: z.string() })),
});
export type RevokedSessionsList = z.infer<typeof RevokedSessionsList>;
