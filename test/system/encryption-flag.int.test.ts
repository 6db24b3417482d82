import type { ConversationEvent } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { useStack } from './stack';
import { friendsPair, send } from './fixtures';

/**
 * Whether a conversation is end-to-end encrypted travels with its `conversation.changed` events, so
 * the gateway never asks accounts about a conversation an event announced, and switching encryption
 * on reaches it as an event: the next plaintext send is refused at once, not after the cache's TTL
 * (ten minutes here). Counted through the gateway's `gateway_accounts_lookups_total`.
 */
describe('the encryption flag reaches the gateway with the events', () => {
  const { stack, track } = useStack({ env: { gateway: { CONVERSATION_CACHE_TTL_MS: '600000' } } });

  const metric = async (name: string): Promise<number> => {
    const gw = stack.all('gateway')[0]!;
    const text = await (await fetch(`http://127.0.0.1:${gw.opsPort}/metrics`)).text();
    // `name{service="gateway"} 3` (the registry's default label) or `name 3`.
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    if (!line) throw new Error(`no ${name} in /metrics`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  /** A direct conversation and a room of a new pair, once the gateway's cache holds both from their events. */
  async function pairWithRoom() {
    const cached = await metric('gateway_conversations_cached');
    const pair = await friendsPair(stack.origin());
    const room = await pair.api.room(pair.a, [pair.b.id]);
    await waitFor(
      async () => (await metric('gateway_conversations_cached')) >= cached + 2,
      20_000,
      "the conversations' created events reach the gateway",
    );
    const [sa, sb] = track(await pair.api.connect(pair.a.token), await pair.api.connect(pair.b.token));
    return { ...pair, room, sa: sa!, sb: sb! };
  }

  it("a new conversation's first plaintext sends ask accounts nothing", async () => {
    const { conversationId, room, sa } = await pairWithRoom();
    const lookups = await metric('gateway_accounts_lookups_total');
    expect(await send(sa, conversationId, 'hello')).toMatchObject({ ok: true });
    expect(await send(sa, room, 'hello room')).toMatchObject({ ok: true });
    expect(await metric('gateway_accounts_lookups_total')).toBe(lookups);
  });

  it('switching encryption on refuses the next plaintext send promptly, without a lookup', async () => {
    const { api, a, conversationId, room, sa, sb } = await pairWithRoom();
    const lookups = await metric('gateway_accounts_lookups_total');
    const told: ConversationEvent[] = [];
    sb.on('conversation', (e) => told.push(e));
    for (const id of [conversationId, room]) {
      expect(await send(sa, id, 'before')).toMatchObject({ ok: true });
      await api.requester(a.token)('POST', `/e2e/groups/${id}`);
      // The switch and the gateway's copy of its event are apart by a broker hop: poll, far below the TTL.
      const refused = await waitFor(
        async () => {
          const r = await send(sa, id, 'plaintext after the switch');
          return r.ok ? undefined : r;
        },
        15_000,
        'a plaintext send refused',
      );
      expect(refused.error.code).toBe('FORBIDDEN');
      // The members' clients are told too (socket `conversation`, `updated`, encrypted).
      await waitFor(
        () => told.some((e) => e.conversation.id === id && e.type === 'updated' && e.encrypted === true),
        15_000,
        "the members' conversation event",
      );
    }
    expect(await metric('gateway_accounts_lookups_total')).toBe(lookups);
  });
});
