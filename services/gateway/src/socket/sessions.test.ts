import { SessionRegistry, type SessionSocket } from './sessions';

function fakeSocket(id: string) {
  const got: Array<{ event: string; args: unknown[] }> = [];
  const sock: SessionSocket & { got: typeof got; closed: boolean } = {
    id,
    got,
    closed: false,
    emit: (event, ...args) => got.push({ event, args }),
    disconnect: () => {
      sock.closed = true;
    },
  };
  return sock;
}

describe('socket sessions: per-session sequences and resume', () => {
  const holds: string[] = [];
  const make = (bufferMax = 3) =>
    new SessionRegistry({
      windowMs: 60_000,
      bufferMax,
      hold: (u) => holds.push(`+${u}`),
      unhold: (u) => holds.push(`-${u}`),
    });

  it('numbers each session separately and skips the socket that caused the event', () => {
    const r = make();
    const a = fakeSocket('a');
    const b = fakeSocket('b');
    r.attach(a, 'u1', null);
    r.attach(b, 'u1', null);
    r.emitToUser('u1', 'message:new', { n: 1 });
    r.emitToUser('u1', 'read', { n: 2 }, 'a');
    expect(a.got.slice(1)).toEqual([{ event: 'message:new', args: [{ n: 1 }, { seq: 1 }] }]);
    expect(b.got.slice(1).map((g) => g.args[1])).toEqual([{ seq: 1 }, { seq: 2 }]);
    expect(r.emitToUser('nobody', 'x', {})).toBe(0);
  });

  it('replays what a dropped session missed to the socket that resumes it, then continues the sequence', () => {
    const r = make(10);
    const a = fakeSocket('a');
    const { sessionId } = r.attach(a, 'u1', null);
    r.emitToUser('u1', 'message:new', { n: 1 });
    r.detach('a');
    expect(holds.at(-1)).toBe('+u1');
    r.emitToUser('u1', 'message:new', { n: 2 });
    r.emitToUser('u1', 'friends', { n: 3 });
    const a2 = fakeSocket('a2');
    expect(r.attach(a2, 'u1', { sessionId, seq: 1 })).toEqual({ sessionId, resumed: true, seq: 3, windowMs: 60_000 });
    expect(holds.at(-1)).toBe('-u1');
    r.emitToUser('u1', 'message:new', { n: 4 });
    expect(a2.got.map((g) => [g.event, g.args[1]])).toEqual([
      ['session', undefined],
      ['message:new', { seq: 2 }],
      ['friends', { seq: 3 }],
      ['message:new', { seq: 4 }],
    ]);
  });

  it('tells a client to resync when the session is unknown, belongs to someone else, or lost what it needs', () => {
    const r = make(2);
    const a = fakeSocket('a');
    const { sessionId } = r.attach(a, 'u1', null);
    for (let i = 0; i < 5; i++) r.emitToUser('u1', 'message:new', { i });
    r.detach('a');
    expect(r.attach(fakeSocket('x'), 'u2', { sessionId, seq: 4 })).toMatchObject({
      resumed: false,
      resync: 'unknown_session',
    });
    expect(r.attach(fakeSocket('y'), 'u1', { sessionId, seq: 1 })).toMatchObject({
      resumed: false,
      resync: 'too_far_behind',
      seq: 0,
    });
    expect(r.attach(fakeSocket('z'), 'u1', { sessionId, seq: 9 })).toMatchObject({ resumed: false, resync: 'invalid' });
    expect(r.attach(fakeSocket('w'), 'u1', 'invalid')).toMatchObject({ resumed: false, resync: 'invalid' });
    // Still resumable from a seq the buffer covers.
    expect(r.attach(fakeSocket('v'), 'u1', { sessionId, seq: 3 })).toMatchObject({ resumed: true, seq: 5 });
  });

  it('a resume of a session whose old socket is still attached closes the old socket', () => {
    const r = make();
    const a = fakeSocket('a');
    const { sessionId } = r.attach(a, 'u1', null);
    const a2 = fakeSocket('a2');
    expect(r.attach(a2, 'u1', { sessionId, seq: 0 }).resumed).toBe(true);
    expect(a.closed).toBe(true);
    r.detach('a'); // the old socket's late disconnect does not detach the session from its new socket
    r.emitToUser('u1', 'typing', {});
    expect(a2.got.at(-1)).toEqual({ event: 'typing', args: [{}, { seq: 1 }] });
  });
});
