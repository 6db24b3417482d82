import { z } from 'zod';
import { limits } from './limits';
import { MessageId, Uuid } from './ids';
import { Conversation, Message, Presence, User } from './objects';

export const Username = z
  .string()
  .min(limits.usernameMin)
  .max(limits.usernameMax)
  .regex(/^[A-Za-z0-9_]+$/, 'may contain only letters, digits and _')
  .transform((s) => s.toLowerCase());
export const Password = z.string().min(limits.passwordMin).max(limits.passwordMax);
export const DisplayName = z.string().trim().min(1).max(limits.displayNameMax);
export const RoomTitle = z.string().trim().min(limits.titleMin).max(limits.titleMax);

export const RegisterBody = z.strictObject({ username: Username, password: Password, displayName: DisplayName.optional() });
export const LoginBody = z.strictObject({ username: z.string().min(1).max(limits.usernameMax), password: z.string().min(1).max(limits.passwordMax) });
export const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });
export const LogoutBody = RefreshBody;
/** `expiresIn`: seconds the access token stays valid from now (refresh a little before). */
export const AuthResult = z.object({ user: User, accessToken: z.string(), refreshToken: z.string(), expiresIn: z.number().int() });
export const TokenPair = z.object({ accessToken: z.string(), refreshToken: z.string(), expiresIn: z.number().int() });

export const UserSearchQuery = z.strictObject({ q: z.string().min(1).max(limits.usernameMax) });

export const Friend = z.object({ user: User, since: z.string(), online: z.boolean(), lastSeenAt: z.string().nullable() });
export const FriendRequestBody = z.strictObject({ username: z.string().min(1).max(limits.usernameMax) });
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
