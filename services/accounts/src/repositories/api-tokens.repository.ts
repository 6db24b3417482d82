import { and, asc, count, eq, isNull, lt, or } from 'drizzle-orm';
import type { ApiToken } from '@chat/contracts';
import type { Executor } from './types';
import { apiTokens, users } from './schema';

export type ApiTokenRow = typeof apiTokens.$inferSelect;

export const toApiToken = (r: ApiTokenRow): ApiToken => ({
  id: r.id,
  botId: r.botId,
  name: r.name,
  scopes: r.scopes as ApiToken['scopes'],
  createdAt: r.createdAt.toISOString(),
  expiresAt: r.expiresAt?.toISOString() ?? null,
  lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
});

export function createApiTokensRepository(db: Executor) {
  return {
    async create(input: {
      botId: string;
      name: string;
      scopes: string[];
      tokenHash: string;
      expiresAt: Date | null;
    }): Promise<ApiTokenRow> {
      const rows = await db.insert(apiTokens).values(input).returning();
      return rows[0]!;
    },
    /** Live tokens (not revoked), oldest first. */
    async listForBot(botId: string): Promise<ApiTokenRow[]> {
      return db
        .select()
        .from(apiTokens)
        .where(and(eq(apiTokens.botId, botId), isNull(apiTokens.revokedAt)))
        .orderBy(asc(apiTokens.createdAt));
    },
    async countLive(botId: string): Promise<number> {
      const [row] = await db
        .select({ n: count() })
        .from(apiTokens)
        .where(and(eq(apiTokens.botId, botId), isNull(apiTokens.revokedAt)));
      return row?.n ?? 0;
    },
    /** True when a live token was revoked. */
    async revoke(botId: string, tokenId: string): Promise<boolean> {
      const rows = await db
        .update(apiTokens)
        .set({ revokedAt: new Date() })
        .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.botId, botId), isNull(apiTokens.revokedAt)))
        .returning({ id: apiTokens.id });
      return rows.length > 0;
    },
    /** The token and its bot, whatever their state (the caller checks revocation and expiry). */
    async findByHash(tokenHash: string): Promise<{ token: ApiTokenRow; username: string } | null> {
      const rows = await db
        .select({ token: apiTokens, username: users.username })
        .from(apiTokens)
        .innerJoin(users, eq(users.id, apiTokens.botId))
        .where(eq(apiTokens.tokenHash, tokenHash));
      return rows[0] ?? null;
    },
    /** At most one write a minute per token: `lastUsedAt` is a hint for its owner, not an audit log. */
    async touch(id: string, now = new Date()): Promise<void> {
      const stale = new Date(now.getTime() - 60_000);
      await db
        .update(apiTokens)
        .set({ lastUsedAt: now })
        .where(and(eq(apiTokens.id, id), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, stale))));
    },
  };
}
