import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { AppError, type User } from '@chat/contracts';
import { signAccessToken } from '@chat/auth';
import { transact, type Deps } from '../deps';
import type { Executor } from '../repositories/types';
import { enqueue } from '../outbox/outbox';
import { hashPassword } from '../auth/passwords';
import { hashRefreshToken, newRefreshToken } from '../auth/refresh-tokens';
import { createSessionsRepository } from '../repositories/sessions.repository';
import { createUsersRepository, toUser } from '../repositories/users.repository';

const badCredentials = () => new AppError('UNAUTHENTICATED', 'invalid username or password');
const badRefresh = () => new AppError('UNAUTHENTICATED', 'invalid or expired refresh token');

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token is valid for. */
  expiresIn: number;
}

async function issueTokens(
  ctx: Deps,
  db: Executor,
  user: { id: string; username: string },
  familyId?: string,
): Promise<TokenPair> {
  const refreshToken = newRefreshToken();
  const expiresAt = new Date(Date.now() + ctx.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000);
  const row = await createSessionsRepository(db).issue({
    userId: user.id,
    tokenHash: hashRefreshToken(refreshToken),
    expiresAt,
    familyId,
  });
  // `sid` names the session, so revoking it can disconnect the sockets opened with its tokens.
  const accessToken = await signAccessToken(
    ctx.keys.privateKey,
    ctx.keys.kid,
    { userId: user.id, username: user.username, sessionId: row.familyId },
    ctx.config.ACCESS_TOKEN_TTL_SECONDS,
  );
  return { accessToken, refreshToken, expiresIn: ctx.config.ACCESS_TOKEN_TTL_SECONDS };
}

export async function register(
  ctx: Deps,
  input: { username: string; password: string; displayName?: string },
  traceId: string,
): Promise<{ user: User } & TokenPair> {
  // A taken name is answered before the costly hash (the unique index still decides a race).
  if (await createUsersRepository(ctx.db).findByUsername(input.username))
    throw new AppError('CONFLICT', 'username is taken');
  const passwordHash = await hashPassword(input.password);
  return transact(ctx, async (tx) => {
    const row = await createUsersRepository(tx).create({
      username: input.username.toLowerCase(),
      displayName: input.displayName ?? input.username,
      passwordHash,
    });
    if (!row) throw new AppError('CONFLICT', 'username is taken');
    const user = toUser(row);
    await enqueue(tx, 'user.created', user, traceId);
    return { user, ...(await issueTokens(ctx, tx, row)) };
  });
}

export async function login(
  ctx: Deps,
  input: { username: string; password: string },
  address: string,
  reply?: FastifyReply,
): Promise<{ user: User } & TokenPair> {
  const username = input.username.toLowerCase();
  const { loginAddress, loginPair, loginUser } = ctx.limits;
  const pair = `${username}@${address}`;
  // Every attempt counts per address (one client spraying many accounts). Failures count per
  // (username, address), so a guesser locks out only their own address, and per username from
  // anywhere at a much higher bar (guessing spread over many addresses).
  await loginAddress.consume(address, reply);
  await loginPair.check(pair, reply);
  await loginUser.check(username, reply);

  const row = await createUsersRepository(ctx.db).findByUsername(username);
  const ok = await ctx.passwords.check(row?.passwordHash ?? null, input.password);
  if (!row || !ok) {
    await Promise.all([loginPair.penalty(pair), loginUser.penalty(username)]);
    throw badCredentials();
  }
  await loginPair.reset(pair);
  return { user: toUser(row), ...(await issueTokens(ctx, ctx.db, row)) };
}

export async function refresh(ctx: Deps, token: string): Promise<TokenPair> {
  const outcome = await transact(ctx, async (tx) => {
    const sessions = createSessionsRepository(tx);
    const row = await sessions.findByHashForUpdate(hashRefreshToken(token));
    if (!row || row.revokedAt) return { kind: 'invalid' as const };
    if (row.rotatedAt) {
      // A token that was already exchanged is being replayed: someone holds a stolen copy. End the
      // whole session (every token of the family) and commit that before refusing.
      await sessions.revokeFamily(row.familyId);
      await enqueue(tx, 'session.revoked', revocation(ctx, row), randomUUID());
      return { kind: 'reused' as const, familyId: row.familyId, userId: row.userId };
    }
    if (row.expiresAt.getTime() <= Date.now()) return { kind: 'invalid' as const };
    const user = await createUsersRepository(tx).findById(row.userId);
    if (!user) return { kind: 'invalid' as const };
    await sessions.markRotated(row.id);
    return { kind: 'ok' as const, tokens: await issueTokens(ctx, tx, user, row.familyId) };
  });
  if (outcome.kind === 'reused') {
    ctx.revoked.add(outcome.familyId, Date.now() + ctx.config.ACCESS_TOKEN_TTL_SECONDS * 1000);
    ctx.logger.warn({ userId: outcome.userId, familyId: outcome.familyId }, 'refresh token reused; session revoked');
    throw badRefresh();
  }
  if (outcome.kind === 'invalid') throw badRefresh();
  return outcome.tokens;
}

/** Ends the session the token belongs to. Unknown tokens are accepted silently: logout is idempotent. */
export async function logout(ctx: Deps, token: string): Promise<void> {
  const ended = await transact(ctx, async (tx) => {
    const sessions = createSessionsRepository(tx);
    const row = await sessions.findByHashForUpdate(hashRefreshToken(token));
    if (row && (await sessions.revokeFamily(row.familyId)) > 0) {
      // Gateways disconnect the sockets opened with this session's access tokens at once, and every
      // service refuses those tokens from now on (docs/architecture.md, "Sessions").
      const e = revocation(ctx, row);
      await enqueue(tx, 'session.revoked', e, randomUUID());
      return e;
    }
    return null;
  });
  // This instance refuses the session's tokens at once; the others when the event reaches them.
  if (ended) ctx.revoked.add(ended.sessionId, Date.parse(ended.until));
}

/** The `session.revoked` event of a session ended now: its access tokens live at most one TTL more. */
function revocation(ctx: Deps, row: { userId: string; familyId: string }) {
  const until = new Date(Date.now() + ctx.config.ACCESS_TOKEN_TTL_SECONDS * 1000).toISOString();
  return { userId: row.userId, sessionId: row.familyId, until };
}
