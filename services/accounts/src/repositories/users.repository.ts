import { asc, eq, inArray, like } from 'drizzle-orm';
import type { User } from '@chat/contracts';
import type { Executor } from '../db';
import { users } from '../db/schema';

export type UserRow = typeof users.$inferSelect;

export const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  displayName: r.displayName,
  createdAt: r.createdAt.toISOString(),
  ...(r.botOwnerId ? { bot: true as const } : {}),
});

/** `%` and `_` are LIKE wildcards and `_` is legal in usernames: escape them for a literal prefix. */
const likePrefix = (q: string) => `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function createUsersRepository(db: Executor) {
  return {
    /** Null when the username is taken (the unique index decides, not a check before insert). */
    async create(input: { username: string; displayName: string; passwordHash: string; botOwnerId?: string }): Promise<UserRow | null> {
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
    async searchByPrefix(q: string, limit: number): Promise<UserRow[]> {
      return db.select().from(users).where(like(users.username, likePrefix(q.toLowerCase()))).orderBy(asc(users.username)).limit(limit);
    },
  };
}
export type UsersRepository = ReturnType<typeof createUsersRepository>;
