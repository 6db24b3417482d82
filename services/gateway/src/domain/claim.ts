import { AppError, Message } from '@chat/contracts';
import { internalPost } from '@chat/http-kit';

/** The stored message of a send (persistence's `/internal/v1/messages/claim`), storing `m` if there is none. */
export type ClaimSend = (m: Message) => Promise<Message>;

const CLAIM_TIMEOUT_MS = 3_000;

export function createClaimClient(persistenceUrl: string): ClaimSend {
  const url = new URL('/internal/v1/messages/claim', persistenceUrl);
  return async (m) => {
    // Not knowing whether an earlier attempt is stored, the gateway cannot ack: the client retries.
    const unavailable = (cause?: unknown) =>
      new AppError('UNAVAILABLE', 'cannot check for an earlier attempt of this message, try again', { cause });
    let res: Response;
    try {
      res = await internalPost(url, m, CLAIM_TIMEOUT_MS);
    } catch (err) {
      throw unavailable(err);
    }
    if (!res.ok) throw unavailable(new Error(`persistence answered ${res.status}`));
    const parsed = Message.safeParse(((await res.json().catch(() => null)) as { message?: unknown } | null)?.message);
    if (!parsed.success) throw unavailable(parsed.error);
    return parsed.data;
  };
}
