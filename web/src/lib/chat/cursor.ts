import type { Message } from '@chat/contracts';

/**
 * The sync cursor of one conversation: the id of the last message of the last history page fetched
 * (`after=` pages come in commit order, so this never skips a message that committed late with an
 * older id). Live `message:new` events never move it: an id that only arrived live may be ahead of
 * a message still committing.
 */
export function advanceCursor(cursor: string | null, page: readonly Message[]): string | null {
  const last = page[page.length - 1];
  return last ? last.id : cursor;
}

export interface HistoryPageLike {
  messages: Message[];
  hasMore: boolean;
}

export type PageFetcher = (query: { after?: string; before?: string; limit: number }) => Promise<HistoryPageLike>;

export interface CatchUpResult {
  cursor: string | null;
  /** Only for a first load (no cursor): whether older pages exist before the newest page. */
  hasOlder?: boolean;
  pages: number;
}

/**
 * Brings one conversation up to date. Without a cursor it loads the newest page (and takes its last
 * message as the cursor); with one it follows `after=` pages until `hasMore` is false. Every page is
 * handed to `onPage` before the next is asked for, so the UI fills in as it goes.
 */
export async function catchUp(
  cursor: string | null,
  fetchPage: PageFetcher,
  onPage: (messages: Message[]) => void,
  opts: { limit?: number; maxPages?: number } = {},
): Promise<CatchUpResult> {
  const limit = opts.limit ?? 50;
  const maxPages = opts.maxPages ?? 1000;
  if (cursor === null) {
    const page = await fetchPage({ limit });
    onPage(page.messages);
    return { cursor: advanceCursor(null, page.messages), hasOlder: page.hasMore, pages: 1 };
  }
  let pages = 0;
  let current: string = cursor;
  while (pages < maxPages) {
    const page = await fetchPage({ after: current, limit });
    pages++;
    onPage(page.messages);
    const next = advanceCursor(current, page.messages);
    // An empty page that claims more would loop forever; stop and try again on the next sync.
    if (!page.hasMore || next === null || next === current) return { cursor: next, pages };
    current = next;
  }
  return { cursor: current, pages };
}
