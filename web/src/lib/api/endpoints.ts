import type { z } from 'zod';
import type {
  AuthResult,
  Conversation,
  Friend,
  FriendRequests,
  HistoryPage,
  IncomingRequest,
  Invitation,
  InvitationList,
  OutgoingRequest,
  Presence,
  User,
} from '@chat/contracts';
import { request } from './http';

export type AuthResultT = z.infer<typeof AuthResult>;
export type FriendT = z.infer<typeof Friend>;
export type FriendRequestsT = z.infer<typeof FriendRequests>;
export type IncomingRequestT = z.infer<typeof IncomingRequest>;
export type OutgoingRequestT = z.infer<typeof OutgoingRequest>;
export type BlockedT = { user: User; createdAt: string };
export type InvitationListT = z.infer<typeof InvitationList>;
export type { Invitation };
export type { Conversation, HistoryPage, Presence, User };

const enc = encodeURIComponent;

export const api = {
  register: (username: string, password: string, displayName?: string) =>
    request<AuthResultT>(
      'POST',
      '/auth/register',
      displayName ? { username, password, displayName } : { username, password },
      { auth: false },
    ),
  login: (username: string, password: string) =>
    request<AuthResultT>('POST', '/auth/login', { username, password }, { auth: false }),
  me: () => request<User>('GET', '/me'),
  searchUsers: (q: string) => request<User[]>('GET', `/users?q=${enc(q)}`),

  friends: () => request<FriendT[]>('GET', '/friends'),
  friendRequests: () => request<FriendRequestsT>('GET', '/friends/requests'),
  sendFriendRequest: (username: string) => request<unknown>('POST', '/friends/requests', { username }),
  acceptRequest: (id: string) => request<unknown>('POST', `/friends/requests/${enc(id)}/accept`),
  declineRequest: (id: string) => request<unknown>('POST', `/friends/requests/${enc(id)}/decline`),
  cancelRequest: (id: string) => request<void>('DELETE', `/friends/requests/${enc(id)}`),
  unfriend: (userId: string) => request<void>('DELETE', `/friends/${enc(userId)}`),
  block: (userId: string) => request<unknown>('POST', '/blocks', { userId }),
  unblock: (userId: string) => request<void>('DELETE', `/blocks/${enc(userId)}`),
  blocks: () => request<BlockedT[]>('GET', '/blocks'),

  conversations: () => request<Conversation[]>('GET', '/conversations'),
  direct: (userId: string) => request<Conversation>('POST', '/conversations/direct', { userId }),
  createRoom: (title: string, memberIds: string[]) =>
    request<Conversation>('POST', '/conversations/rooms', { title, memberIds }),
  addMember: (id: string, userId: string) => request<unknown>('POST', `/conversations/${enc(id)}/members`, { userId }),
  /** Anyone not your friend is invited to a room rather than added; they join when they accept. */
  invite: (id: string, userId: string) => request<unknown>('POST', `/conversations/${enc(id)}/invitations`, { userId }),
  /** Room invitations made to me (`incoming`) and by me, still pending (`outgoing`). */
  invitations: () => request<InvitationListT>('GET', '/invitations'),
  acceptInvitation: (id: string) => request<Conversation>('POST', `/invitations/${enc(id)}/accept`),
  declineInvitation: (id: string) => request<void>('POST', `/invitations/${enc(id)}/decline`),
  cancelInvitation: (id: string) => request<void>('DELETE', `/invitations/${enc(id)}`),
  removeMember: (id: string, userId: string) =>
    request<unknown>('DELETE', `/conversations/${enc(id)}/members/${enc(userId)}`),
  rename: (id: string, title: string) => request<Conversation>('PATCH', `/conversations/${enc(id)}`, { title }),
  history: (id: string, q: { before?: string; after?: string; limit?: number }) => {
    const p = new URLSearchParams();
    if (q.before) p.set('before', q.before);
    if (q.after) p.set('after', q.after);
    p.set('limit', String(q.limit ?? 50));
    return request<HistoryPage>('GET', `/conversations/${enc(id)}/messages?${p}`);
  },
  presence: (userIds: string[]) => request<Presence[]>('GET', `/presence?userIds=${userIds.map(enc).join(',')}`),
};
