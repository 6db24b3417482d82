import { describeRoomEvent, memberCount } from './room-events';

const names: Record<string, string> = { a: 'Alice', b: 'Bob', me: 'You' };
const name = (id: string, recorded?: string) => names[id] ?? recorded ?? `user ${id}`;

describe('room event wording', () => {
  it('names who did what to whom', () => {
    expect(describeRoomEvent({ type: 'created', title: 'Plans' }, 'a', name)).toBe('Alice created the room “Plans”');
    expect(describeRoomEvent({ type: 'joined', userId: 'b' }, 'a', name)).toBe('Alice added Bob');
    expect(describeRoomEvent({ type: 'left', userId: 'b' }, 'b', name)).toBe('Bob left');
    expect(describeRoomEvent({ type: 'removed', userId: 'me' }, 'a', name)).toBe('Alice removed you');
    expect(describeRoomEvent({ type: 'renamed', title: 'Trip' }, 'me', name)).toBe('You renamed the room to “Trip”');
    expect(describeRoomEvent({ type: 'owner_changed', userId: 'b' }, 'a', name)).toBe('Bob is now the owner');
    expect(describeRoomEvent({ type: 'owner_changed', userId: 'me' }, 'a', name)).toBe('You are now the owner');
    // Someone the reader never met shows under the name the event recorded.
    expect(describeRoomEvent({ type: 'removed', userId: 'x', userName: 'Xena', actorName: 'Al' }, 'a', name)).toBe(
      'Alice removed Xena',
    );
  });

  it('counts members in words', () => {
    expect(memberCount(1)).toBe('1 member');
    expect(memberCount(0)).toBe('0 members');
    expect(memberCount(3)).toBe('3 members');
  });
});
