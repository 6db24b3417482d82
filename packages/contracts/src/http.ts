import { z } from 'zod';
import { limits } from './limits';
import { MessageId, Uuid } from './ids';
import { displayUnsafeMessage, isDisplaySafe, StorableString } from './text';
import { Conversation, Invitation, Message, Presence, User } from './objects';

export const Username = z
  .string()
  .min(limits.usernameMin)
  .max(limits.usernameMax)
  .regex(/^[A-Za-z0-9_]+$/, 'may contain only letters, digits and _')
  .transform((s) => s.toLowerCase());
export const Password = z.string().min(limits.passwordMin).max(limits.passwordMax);
/** Shown to other people: no control, bidirectional-override or zero-width characters. */
export const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(limits.displayNameMax)
  .refine(isDisplaySafe, { message: displayUnsafeMessage });
export const RoomTitle = z
  .string()
  .trim()
  .min(limits.titleMin)
  .max(limits.titleMax)
  .refine(isDisplaySafe, { message: displayUnsafeMessage });
/** A username as typed to look someone up: anything storable (an unknown one simply matches nobody). */
const UsernameLookup = StorableString().min(1).max(limits.usernameMax);

export const RegisterBody = z.strictObject({
  username: Username,
  password: Password,
  displayName: DisplayName.optional(),
});
export const LoginBody = z.strictObject({
  username: UsernameLookup,
  password: z.string().min(1).max(limits.passwordMax),
});
/**
 * The refresh token in the body, or (when the body leaves it out, `{}`) the httpOnly `chat_refresh`
 * cookie set by register, login and refresh: a browser client need not keep it where scripts read it.
 */
export const RefreshBody = z.strictObject({ refreshToken: StorableString().min(1).max(512).optional() });
export const LogoutBody = RefreshBody;
/** `expiresIn`: seconds the access token stays valid from now (refresh a little before). */
export const AuthResult = z.object({
  user: User,
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int(),
});
export const TokenPair = z.object({ accessToken: z.string(), refreshToken: z.string(), expiresIn: z.number().int() });

export const UserSearchQuery = z.strictObject({ q: UsernameLookup });

export const Friend = z.object({
  user: User,
  since: z.string(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
});
export const FriendRequestBody = z.strictObject({ username: UsernameLookup });
export const IncomingRequest = z.object({ id: Uuid, from: User, createdAt: z.string() });
export const OutgoingRequest = z.object({ id: Uuid, to: User, createdAt: z.string() });
export const FriendRequests = z.object({ incoming: z.array(IncomingRequest), outgoing: z.array(OutgoingRequest) });
export const BlockBody = z.strictObject({ userId: Uuid });

export const DirectConversationBody = z.strictObject({ userId: Uuid });
export const RoomBody = z.strictObject({ title: RoomTitle, memberIds: z.array(Uuid).max(10_000).default([]) });
export const AddMemberBody = z.strictObject({ userId: Uuid });
export const RenameBody = z.strictObject({ title: RoomTitle });

export const IdParams = z.strictObject({ id: Uuid });
export const UserIdParams = z.strictObject({ userId: Uuid });
export const MemberParams = z.strictObject({ id: Uuid, userId: Uuid });

export const HistoryQuery = z
  .strictObject({
    before: MessageId.optional(),
    after: MessageId.optional(),
    limit: z.coerce.number().int().min(1).max(limits.pageMax).default(limits.pageDefault),
  })
  .refine((q) => !(q.before && q.after), { message: 'use either before or after, not both' });
export type HistoryQuery = z.infer<typeof HistoryQuery>;
export const HistoryPage = z.object({ messages: z.array(Message), hasMore: z.boolean() });
export type HistoryPage = z.infer<typeof HistoryPage>;

export const PresenceQuery = z.strictObject({
  userIds: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(Uuid).min(1).max(200)),
});
export const PresenceList = z.array(Presence);

export const ConversationList = z.array(Conversation);

export const InviteBody = z.strictObject({ userId: Uuid });
export const InvitationList = z.object({ incoming: z.array(Invitation), outgoing: z.array(Invitation) });
