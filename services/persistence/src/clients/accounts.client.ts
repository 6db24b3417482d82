import { z } from 'zod';
import { AppError } from '@chat/contracts';
import { internalGet } from '@chat/http-kit';

/** The part of accounts' internal conversation answer persistence needs. */
const ConversationAnswer = z.object({ id: z.string(), members: z.array(z.object({ userId: z.string() })) });

export interface AccountsClient {
  /** The conversation's member ids, or null when accounts does not know it (404). */
  conversationMembers(conversationId: string): Promise<string[] | null>;
}

/** `GET {ACCOUNTS_URL}/internal/v1/conversations/:id`; any other failure is UNAVAILABLE (retryable). */
export function createAccountsClient(baseUrl: string, timeoutMs = 2_000): AccountsClient {
  return {
    async conversationMembers(conversationId) {
      let res: Response;
      try {
        res = await internalGet(
          new URL(`/internal/v1/conversations/${encodeURIComponent(conversationId)}`, baseUrl),
          timeoutMs,
        );
      } catch (err) {
        throw new AppError('UNAVAILABLE', 'membership lookup failed, try again', { cause: err });
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new AppError('UNAVAILABLE', 'membership lookup failed, try again', {
          cause: new Error(`accounts answered ${res.status}`),
        });
      }
      const parsed = ConversationAnswer.safeParse(await res.json().catch(() => null));
      if (!parsed.success)
        throw new AppError('UNAVAILABLE', 'membership lookup failed, try again', { cause: parsed.error });
      return parsed.data.members.map((m) => m.userId);
    },
  };
}
