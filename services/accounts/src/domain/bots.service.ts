import { and, asc, count, eq } from 'drizzle-orm';
import { AppError, API_TOKEN_PREFIX, botLimits, type ApiToken, type Bot, type TokenScope } from '@chat/contracts';
import { NEVER_EXPIRES, type AccessClaims } from '@chat/auth';
import { transact, type Deps as Ctx } from '../deps';
import { users } from '../repositories/schema';
import { enqueue } from '../outbox/outbox';
import { hashRefreshToken, newRefreshToken } from '../auth/refresh-tokens';
import { createApiTokensRepository, toApiToken } from '../repositories/api-tokens.repository';
import { createUsersRepository, toUser, type UserRow } from '../repositories/users.repository';

/** Never a valid argon2 hash: password verification of a bot always fails, so a bot cannot log in. */
const NO_PASSWORD = '!bot';

const toBot = (r: UserRow): Bot => ({ ...toUser(r), bot: true, ownerId: r.botOwnerId! });
const invalidToken = () => new AppError('UNAUTHENTICATED', 'invalid, expired or revoked API token');

/** Only people manage bots: an API token (a bot) gets FORBIDDEN here. */
function requirePerson(claims: AccessClaims): string {
  if (claims.tokenId) throw new AppError('FORBIDDEN', 'bots cannot manage bots or tokens');
  return claims.userId;
}

async function ownedBot(ctx: Ctx, ownerId: string, botId: string): Promise<UserRow> {
  const row = await createUsersRepository(ctx.db).findById(botId);
  // Someone else's bot is as invisible as one that does not exist.
  if (!row || row.botOwnerId !== ownerId) throw new AppError('NOT_FOUND', 'no such bot');
  return row;
}

export async function createBot(
  ctx: Ctx,
  claims: AccessClaims,
  input: { username: string; displayName?: string },
  traceId: string,
): Promise<Bot> {
  const ownerId = requirePerson(claims);
  return transact(ctx, async (tx) => {
    const [n] = await tx.select({ n: count() }).from(users).where(eq(users.botOwnerId, ownerId));
    if ((n?.n ?? 0) >= botLimits.botsPerOwner)
      throw new AppError('CONFLICT', `at most ${botLimits.botsPerOwner} bots per user`);
    const row = await createUsersRepository(tx).create({
      username: input.username,
      displayName: input.displayName ?? input.username,
      passwordHash: NO_PASSWORD,
      botOwnerId: ownerId,
    });
    if (!row) throw new AppError('CONFLICT', 'username is taken');
    await enqueue(tx, 'user.created', toUser(row), traceId);
    return toBot(row);
  });
}

export async function listBots(ctx: Ctx, claims: AccessClaims): Promise<Bot[]> {
  const ownerId = requirePerson(claims);
  const rows = await ctx.db
    .select()
    .from(users)
    .where(and(eq(users.botOwnerId, ownerId)))
    .orderBy(asc(users.createdAt));
  return rows.map(toBot);
}

export async function createToken(
  ctx: Ctx,
  claims: AccessClaims,
  botId: string,
  input: { name: string; scopes: TokenScope[]; expiresInDays?: number },
): Promise<{ token: string; apiToken: ApiToken }> {
  const ownerId = requirePerson(claims);
  await ownedBot(ctx, ownerId, botId);
  const tokens = createApiTokensRepository(ctx.db);
  if ((await tokens.countLive(botId)) >= botLimits.tokensPerBot)
    throw new AppError('CONFLICT', `at most ${botLimits.tokensPerBot} live tokens per bot`);
  const token = `${API_TOKEN_PREFIX}${newRefreshToken()}`;
  const row = await tokens.create({
    botId,
    name: input.name,
    scopes: [...new Set(input.scopes)].sort(),
    tokenHash: hashRefreshToken(token),
    expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
  });
  return { token, apiToken: toApiToken(row) };
}

export async function listTokens(ctx: Ctx, claims: AccessClaims, botId: string): Promise<ApiToken[]> {
  await ownedBot(ctx, requirePerson(claims), botId);
  return (await createApiTokensRepository(ctx.db).listForBot(botId)).map(toApiToken);
}

export async function revokeToken(ctx: Ctx, claims: AccessClaims, botId: string, tokenId: string): Promise<void> {
  await ownedBot(ctx, requirePerson(claims), botId);
  if (!(await createApiTokensRepository(ctx.db).revoke(botId, tokenId)))
    throw new AppError('NOT_FOUND', 'no such token');
}

/** An API token's claims, or UNAUTHENTICATED: unknown, revoked and expired tokens look the same. */
export async function resolveApiToken(
  ctx: Ctx,
  token: string,
): Promise<AccessClaims & { expiresAtIso: string | null }> {
  if (token.length > 256) throw invalidToken();
  const repo = createApiTokensRepository(ctx.db);
  const found = await repo.findByHash(hashRefreshToken(token));
  if (!found || found.token.revokedAt) throw invalidToken();
  const exp = found.token.expiresAt;
  if (exp && exp.getTime() <= Date.now()) throw invalidToken();
  await repo.touch(found.token.id);
  return {
    userId: found.token.botId,
    username: found.username,
    tokenId: found.token.id,
    scopes: found.token.scopes,
    expiresAt: exp ? Math.floor(exp.getTime() / 1000) : NEVER_EXPIRES,
    expiresAtIso: exp?.toISOString() ?? null,
  };
}
