import { z } from 'zod';
import { Uuid } from './ids';
import { DisplayName, Username } from './http';

/**
 * Bot accounts and their API tokens. A bot is a user owned by another user: it has no password and
 * authenticates with long-lived API tokens (`Authorization: Bearer cbt_...`, or `auth.token` on the
 * socket) that its owner lists, scopes and revokes.
 */
export const API_TOKEN_PREFIX = 'cbt_';
export const isApiToken = (token: string): boolean => token.startsWith(API_TOKEN_PREFIX);

export const TokenScope = z.enum(['read', 'write']);
export type TokenScope = z.infer<typeof TokenScope>;

export const botLimits = { botsPerOwner: 20, tokensPerBot: 25, tokenNameMax: 64, tokenDaysMax: 3650 } as const;

export const Bot = z.object({
  id: Uuid,
  username: z.string(),
  displayName: z.string(),
  createdAt: z.string(),
  bot: z.literal(true),
  ownerId: Uuid,
});
export type Bot = z.infer<typeof Bot>;
export const CreateBotBody = z.strictObject({ username: Username, displayName: DisplayName.optional() });

export const ApiToken = z.object({
  id: Uuid,
  botId: Uuid,
  name: z.string(),
  scopes: z.array(TokenScope),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export type ApiToken = z.infer<typeof ApiToken>;
export const CreateTokenBody = z.strictObject({
  name: z.string().trim().min(1).max(botLimits.tokenNameMax),
  scopes: z.array(TokenScope).min(1).max(2).default(['read', 'write']),
  /** Omitted: the token never expires (it lives until revoked). */
  expiresInDays: z.number().int().min(1).max(botLimits.tokenDaysMax).optional(),
});
/** The secret is shown once, in this answer; only its SHA-256 is stored. */
export const CreatedToken = z.object({ token: z.string(), apiToken: ApiToken });
export const BotTokenParams = z.strictObject({ id: Uuid, tokenId: Uuid });

/** What accounts answers other services about an API token (internal). */
export const TokenIntrospection = z.object({
  userId: Uuid,
  username: z.string(),
  tokenId: Uuid,
  scopes: z.array(TokenScope),
  expiresAt: z.string().nullable(),
});
export type TokenIntrospection = z.infer<typeof TokenIntrospection>;
