import type { Message } from '@chat/contracts';
import { advanceCursor, catchUp, type PageFetcher } from './cursor';
import { msg } from './fixtures.test-helpers';

describe('advanceCursor', () => {
  it('takes the last element of a page (commit order), not the largest id', () => {
    // a message that committed late with an older id is last in an after= page
    const page = [msg('9'), msg('7')];
    expect(advanceCursor('x', page)).toBe(msg('7').id);
  });
  it('keeps the cursor on an empty page', () => {
    expect(advanceCursor('abc', [])).toBe('abc');
    expect(advanceCursor(null, [])).toBeNull();
  });
});

/** A fake history endpoint over a commit-ordered log (what persistence promises for after=). */
function historyOf(log: Message[], calls: string[]): PageFetcher {
  return async ({ after, limit }) => {
    calls.push(after ?? 'newest');
    if (!after) {
      const sorted = log.slice().sort((a, b) => (a.id < b.id ? -1 : 1));
      return { messages: sorted.slice(-limit), hasMore: sorted.length > limit };
    }
    const from = log.findIndex((m) => m.id === after) + 1;
    const rest = log.slice(from);
    return { messages: rest.slice(0, limit), hasMore: rest.length > limit };
  };
}

describe('catchUp', () => {
  it('without a cursor loads the newest page and takes its last message as cursor', async () => {
    const log = [msg('1'), msg('2'), msg('3')];
    const calls: string[] = [];
    const got: Message[] = [];
    const r = await catchUp(null, historyOf(log, calls), (p) => got.push(...p), { limit: 2 });
    expect(calls).toEqual(['newest']);
    expect(got.map((m) => m.id)).toEqual([msg('2').id, msg('3').id]);
    expect(r).toMatchObject({ cursor: msg('3').id, hasOlder: true });
  });

  it('follows after= pages until hasMore is false, without gaps or duplicates', async () => {
    const log = Array.from({ length: 7 }, (_, i) => msg(String(i + 1)));
    const calls: string[] = [];
    const got: Message[] = [];
    const r = await catchUp(log[1]!.id, historyOf(log, calls), (p) => got.push(...p), { limit: 2 });
    expect(got.map((m) => m.id)).toEqual(log.slice(2).map((m) => m.id));
    expect(r.cursor).toBe(log[6]!.id);
    expect(calls).toHaveLength(3);
  });

  it('stops on an empty page that claims more instead of looping', async () => {
    const fetch: PageFetcher = async () => ({ messages: [], hasMore: true });
    const r = await catchUp('c', fetch, () => undefined);
    expect(r).toEqual({ cursor: 'c', pages: 1 });
  });

  it('propagates a failed page so the caller can retry from the same cursor', async () => {
    const fetch: PageFetcher = async () => {
      throw new Error('down');
    };
    await expect(catchUp('c', fetch, () => undefined)).rejects.toThrow('down');
  });
});
