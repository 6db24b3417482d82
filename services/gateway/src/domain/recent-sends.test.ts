import type { Message } from '@chat/contracts';
import { RecentSends } from './recent-sends';

const msg = (id: string) => ({ id }) as Message;

describe('RecentSends', () => {
  it('returns the first accepted message to a retry, without running it again', async () => {
    const r = new RecentSends(10);
    let runs = 0;
    const accept = async () => msg(`m${++runs}`);
    const a = await r.acceptOnce('k', 's1', accept);
    const b = await r.acceptOnce('k', 's2', accept);
    expect(a.id).toBe('m1');
    expect(b.id).toBe('m1');
    expect(runs).toBe(1);
    expect(r.get('k')?.socketId).toBe('s1');
  });

  it('shares an attempt still in flight', async () => {
    const r = new RecentSends(10);
    let release!: (m: Message) => void;
    const first = r.acceptOnce('k', 's', () => new Promise((res) => (release = res)));
    const second = r.acceptOnce('k', 's', async () => msg('other'));
    release(msg('m1'));
    expect((await first).id).toBe('m1');
    expect((await second).id).toBe('m1');
  });

  it('forgets a failed attempt so the retry runs, under the id the failed attempt used', async () => {
    const r = new RecentSends(10);
    const first = r.acceptOnce('k', 's', async (reuse) => {
      expect(reuse).toBeUndefined();
      r.reserve('k', { id: 'm1', createdAt: 't1' });
      throw new Error('no confirm in time');
    });
    await expect(first).rejects.toThrow('no confirm');
    expect((await r.acceptOnce('k', 's', async (reuse) => msg(reuse?.id ?? 'fresh'))).id).toBe('m1');
  });

  it('publishes a resend of a message seen on the broker again, under its id (a copy is no confirm)', async () => {
    const r = new RecentSends(10);
    const m = { id: 'm9', senderId: 'u', clientMsgId: 'c', conversationId: 'conv', createdAt: 't9' } as Message;
    r.learn(m);
    expect(r.knows(RecentSends.key('u', 'c'))).toBe(true);
    let reused: string | undefined;
    const got = await r.acceptOnce(
      RecentSends.key('u', 'c'),
      's',
      async (reuse) => msg((reused = reuse?.id) ?? 'fresh'),
      'conv',
    );
    expect(reused).toBe('m9');
    expect(got.id).toBe('m9');
    // Confirmed now: a further resend gets it without publishing.
    let ran = false;
    await r.acceptOnce(RecentSends.key('u', 'c'), 's', async () => ((ran = true), msg('other')), 'conv');
    expect(ran).toBe(false);
  });

  it('refuses a resend naming another conversation than the copy seen (a clientMsgId is used once)', async () => {
    const r = new RecentSends(10);
    r.learn({ id: 'm9', senderId: 'u', clientMsgId: 'c', conversationId: 'conv' } as Message);
    let ran = false;
    const got = r.acceptOnce(RecentSends.key('u', 'c'), 's', async () => ((ran = true), msg('x')), 'other');
    await expect(got).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(ran).toBe(false);
  });

  it('emits a message id once: a send published again is not delivered twice by this gateway', () => {
    const r = new RecentSends(2);
    expect(r.firstDelivery('m1')).toBe(true);
    expect(r.firstDelivery('m1')).toBe(false);
    expect(r.firstDelivery('m2')).toBe(true);
    expect(r.firstDelivery('m3')).toBe(true);
    expect(r.firstDelivery('m1')).toBe(true); // bounded: the oldest is forgotten
  });

  it('publishes the retry again when its own copy arrives only after the attempt failed (a nacked publish)', async () => {
    const r = new RecentSends(10);
    const key = RecentSends.key('u', 'c');
    const first = r.acceptOnce(key, 's', async () => {
      r.reserve(key, { id: 'm1', createdAt: 't1' });
      throw new Error('message broker refused the message, try again');
    });
    await expect(first).rejects.toThrow('refused');
    // The broker nacked it (a quorum queue lost its leader) yet routed a copy to the classic events queue.
    r.learn({ id: 'm1', senderId: 'u', clientMsgId: 'c', conversationId: 'c1' } as Message);
    let ran = 0;
    let reused: string | undefined;
    const retry = await r.acceptOnce(key, 's', async (reuse) => (ran++, msg((reused = reuse?.id) ?? 'fresh')));
    expect(ran).toBe(1);
    expect(reused).toBe('m1');
    expect(retry.id).toBe('m1');
  });

  it('keeps the id for the retry when its own copy is seen on the broker before the attempt fails', async () => {
    const r = new RecentSends(10);
    const key = RecentSends.key('u', 'c');
    let fail!: (e: Error) => void;
    const first = r.acceptOnce(key, 's', (reuse) => {
      expect(reuse).toBeUndefined();
      r.reserve(key, { id: 'm1', createdAt: 't1' });
      return new Promise<Message>((_, rej) => (fail = rej));
    });
    // The publish was routed (its copy reached the events queue) but never confirmed.
    r.learn({ id: 'm1', senderId: 'u', clientMsgId: 'c' } as Message);
    fail(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    let reused: string | undefined;
    const retry = await r.acceptOnce(key, 's', async (reuse) => msg((reused = reuse?.id) ?? 'fresh'));
    expect(reused).toBe('m1');
    expect(retry.id).toBe('m1');
  });

  it('is bounded, dropping the oldest', async () => {
    const r = new RecentSends(3);
    for (let i = 0; i < 5; i++) await r.acceptOnce(`k${i}`, 's', async () => msg(`m${i}`));
    expect(r.size).toBe(3);
    expect(r.get('k0')).toBeUndefined();
    expect(r.get('k4')).toBeDefined();
  });
});
