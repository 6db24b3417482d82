import type { MemberRole } from '@chat/contracts';

export interface RankedMember {
  userId: string;
  role: MemberRole;
  joinedAt: Date;
}

/**
 * Who becomes owner when the last owner left: the longest-standing admin, else the longest-standing
 * member (ties by user id, so every instance picks the same). Null when an owner remains or nobody does.
 */
export function nextOwner<M extends RankedMember>(remaining: M[]): M | null {
  if (!remaining.length || remaining.some((m) => m.role === 'owner')) return null;
  const byAge = [...remaining].sort(
    (a, b) => a.joinedAt.getTime() - b.joinedAt.getTime() || (a.userId < b.userId ? -1 : 1),
  );
  return byAge.find((m) => m.role === 'admin') ?? byAge[0]!;
}
