import { randomUUID } from 'node:crypto';
import { AppError } from '@chat/contracts';
import { createTestIssuer } from './index';
import { RevokedSessions, withRevocations } from './revoked-sessions';

describe('RevokedSessions', () => {
  it('holds a session until its tokens would have expired, then forgets it', async () => {
    const set = new RevokedSessions();
    const sid = randomUUID();
    // 1 s: a loaded machine may stall between add() and has() for a good part of a second.
    set.add(sid, Date.now() + 1_000);
    expect(set.has(sid)).toBe(true);
    expect(set.has(sid.toUpperCase())).toBe(true);
    await new Promise((r) => setTimeout(r, 1_100)); // past the expiry: that is what is tested
    expect(set.has(sid)).toBe(false);
    expect(set.size).toBe(0);
  });

  it('ignores a revocation whose tokens have already expired, and never shortens one', () => {
    const set = new RevokedSessions();
    const [old, sid] = [randomUUID(), randomUUID()];
    set.add(old, Date.now() - 1);
    expect(set.has(old)).toBe(false);
    set.add(sid, Date.now() + 60_000);
    set.add(sid, Date.now() + 10);
    expect(set.has(sid)).toBe(true);
  });

  it('stays bounded', () => {
    const set = new RevokedSessions(100);
    for (let i = 0; i < 1_000; i++) set.add(randomUUID(), Date.now() + 60_000);
    expect(set.size).toBe(100);
  });
});

describe('withRevocations', () => {
  it("refuses the access tokens of a revoked session with UNAUTHENTICATED, and no other session's", async () => {
    const issuer = await createTestIssuer();
    const revoked = new RevokedSessions();
    const verify = withRevocations(issuer.verifier, revoked);
    const [ended, other] = [randomUUID(), randomUUID()];
    const token = await issuer.sign(randomUUID(), 'alice', 900, ended);
    const otherToken = await issuer.sign(randomUUID(), 'bob', 900, other);
    await expect(verify(token)).resolves.toMatchObject({ sessionId: ended });
    revoked.add(ended, Date.now() + 900_000);
    const err = await verify(token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verify(otherToken)).resolves.toMatchObject({ sessionId: other });
  });
});
