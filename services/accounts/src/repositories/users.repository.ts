import { and, asc, eq, inArray, like, notLike } from 'drizzle-orm';
import type { User } from '@chat/contracts';
import type { Executor } from '../repositories/types';
import { users } from '../repositories/schema';

export type UserRow = typeof users.$inferSelect;

export const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  displayName: r.displayName,
  createdAt: r.createdAt.toISOString(),
  ...(r.botOwnerId ? { bot: true as const } : {}),
});

/** `%` and `_` are LIKE wildcards and `_` is legal in usernames: escape them for a literal match. */
const escapeLike = (q: string) => q.replace(/[\\%_]/g, (c) => `\\${c}`);
const likePrefix = (q: string) => `${escapeLike(q)}%`;

export function createUsersRepository(db: Executor) {
  return {
    /** Null when the username is taken (the unique index decides, not a check before insert). */
    async create(input: {
      username: string;
      displayName: string;
      passwordHash: string;
      botOwnerId?: string;
    }): Promise<UserRow | null> {
      const rows = await db.insert(users).values(input).onConflictDoNothing({ target: users.username }).returning();
      return rows[0] ?? null;
    },
    async findById(id: string): Promise<UserRow | null> {
      const rows = await db.select().from(users).where(eq(users.id, id));
      return rows[0] ?? null;
    },
    async findByUsername(username: string): Promise<UserRow | null> {
      const rows = await db.select().from(users).where(eq(users.username, username.toLowerCase()));
      return rows[0] ?? null;
    },
    async findManyByIds(ids: string[]): Promise<UserRow[]> {
      if (!ids.length) return [];
      return db.select().from(users).where(inArray(users.id, ids));
    },
    /**
     * Usernames starting with `q` first (the unique index serves them), then, to fill up to `limit`,
     * those containing it elsewhere. A leading `@` is how people write a username: it is ignored.
     */
    async search(q: string, limit: number): Promise<UserRow[]> {
      const needle = q.toLowerCase().replace(/^@/, '');
      if (!needle) return [];
      const starting = await db
        .select()
        .from(users)
        .where(like(users.username, likePrefix(needle)))
        .orderBy(asc(users.username))
        .limit(limit);
      if (starting.length >= limit) return starting;
      const inside = await db
        .select()
        .from(users)
        .where(and(like(users.username, `%${escapeLike(needle)}%`), notLike(users.username, likePrefix(needle))))
        .orderBy(asc(users.username))
        .limit(limit - starting.length);
      return [...starting, ...inside];
    },
  };
}
export type UsersRepository = ReturnType<typeof createUsersRepository>;
