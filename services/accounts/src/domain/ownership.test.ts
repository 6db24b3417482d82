import { nextOwner } from './ownership';

const at = (s: number) => new Date(s * 1000);

describe('nextOwner', () => {
  it('picks the oldest admin over older plain members', () => {
    const heir = nextOwner([
      { userId: 'm1', role: 'member', joinedAt: at(1) },
      { userId: 'a2', role: 'admin', joinedAt: at(3) },
      { userId: 'a1', role: 'admin', joinedAt: at(2) },
    ]);
    expect(heir?.userId).toBe('a1');
  });

  it('falls back to the oldest member, ties broken by id', () => {
    expect(
      nextOwner([
        { userId: 'b', role: 'member', joinedAt: at(1) },
        { userId: 'a', role: 'member', joinedAt: at(1) },
        { userId: 'c', role: 'member', joinedAt: at(0.5) },
      ])?.userId,
    ).toBe('c');
    expect(
      nextOwner([
        { userId: 'b', role: 'member', joinedAt: at(1) },
        { userId: 'a', role: 'member', joinedAt: at(1) },
      ])?.userId,
    ).toBe('a');
  });

  it('changes nothing while an owner remains, or when the room is empty', () => {
    expect(
      nextOwner([
        { userId: 'o', role: 'owner', joinedAt: at(5) },
        { userId: 'a', role: 'admin', joinedAt: at(1) },
      ]),
    ).toBeNull();
    expect(nextOwner([])).toBeNull();
  });
});
