import type { RoomEvent } from '@chat/contracts';

/**
 * The line a room event shows in the timeline and the conversation list: "Alice added Carol",
 * "Bob left", "Alice renamed the room to Plans". `name` gives a person's name ("You" for oneself); its
 * second argument is the name the event recorded, for people the reader never met.
 */
export function describeRoomEvent(
  e: RoomEvent,
  actorId: string,
  name: (userId: string, recorded?: string) => string,
): string {
  const actor = name(actorId, e.actorName);
  const subject = e.userId ? name(e.userId, e.userName) : 'someone';
  const object = subject === 'You' ? 'you' : subject;
  switch (e.type) {
    case 'created':
      return e.title ? `${actor} created the room “${e.title}”` : `${actor} created the room`;
    case 'joined':
      return e.userId === actorId ? `${subject} joined` : `${actor} added ${object}`;
    case 'left':
      return `${subject} left`;
    case 'removed':
      return `${actor} removed ${object}`;
    case 'renamed':
      return `${actor} renamed the room to “${e.title ?? ''}”`;
    case 'owner_changed':
      return `${subject} ${subject === 'You' ? 'are' : 'is'} now the owner`;
    default:
      return 'The room changed';
  }
}

/** "1 member", "3 members". */
export function memberCount(n: number): string {
  return `${n} ${n === 1 ? 'member' : 'members'}`;
}
