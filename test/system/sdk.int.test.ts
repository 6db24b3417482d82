import { ChatClient, HttpApi, type Credentials } from '@chat/client';
import type { Message } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { useStack } from './stack';

/**
 * The SDK for a person, against the real stack with 10-second access tokens: the socket dies at each
 * token's expiry, and the client refreshes, reconnects and resumes by itself without losing a message.
 */
describe('SDK: refresh, reconnect and resume for a person with short-lived tokens', () => {
  const { stack } = useStack({ env: { accounts: { ACCESS_TOKEN_TTL_SECONDS: '10' } } });
  const clients: ChatClient[] = [];
  afterAll(() => clients.forEach((c) => c.close()));

  it('keeps receiving and sending across token expiries and a dropped transport', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const bob = new HttpApi(stack.origin());
    await bob.register(`bob_${suffix}`, 'correct horse battery');
    const pairs: Credentials[] = [];
    await new HttpApi(stack.origin()).register(`alice_${suffix}`, 'correct horse battery');
    const alice = await ChatClient.login({
      origin: stack.origin(),
      username: `alice_${suffix}`,
      password: 'correct horse battery',
      onCredentials: (c) => pairs.push(c),
    });
    clients.push(alice);
    expect(pairs).toHaveLength(1);
    await alice.connect();
    const got: Message[] = [];
    alice.on('message', (m) => got.push(m));

    await bob.requestFriend(`alice_${suffix}`);
    const req = (await alice.http.friendRequests()).incoming[0]!;
    const conversationId = (await alice.http.acceptFriend(req.id)).conversationId!;
    // From here bob's session belongs to his client (one holder per refresh token: rotation).
    const bobClient = new ChatClient({ origin: stack.origin(), credentials: bob.credentials! });
    clients.push(bobClient);
    await bobClient.connect();

    // Bob sends one message a second for 13 s: longer than alice's token lives.
    const bodies: string[] = [];
    for (let i = 0; i < 13; i++) {
      bodies.push(`b${i}`);
      await bobClient.send(conversationId, `b${i}`);
      if (i === 3) alice.simulateDrop();
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await waitFor(() => bodies.every((b) => got.some((m) => m.body === b)), 10_000, 'every message');
    expect(got.filter((m) => m.senderId !== alice.userId).map((m) => m.body)).toEqual(bodies);
    // Tokens were refreshed (rotation: each pair replaces the last), and the socket resumed rather than resynced.
    expect(pairs.length).toBeGreaterThanOrEqual(2);
    expect(alice.stats.resumed).toBeGreaterThanOrEqual(2);
    expect(alice.stats.resyncs).toBe(0);
    // Sending still works with the current token, and a resend of the same clientMsgId is the same message.
    const id = crypto.randomUUID();
    const first = await alice.send(conversationId, 'from alice', id);
    const again = await alice.send(conversationId, 'from alice', id);
    expect(again.id).toBe(first.id);
    await waitFor(
      async () =>
        (await bobClient.http.history(conversationId)).messages.filter((m) => m.clientMsgId === id).length === 1,
      15_000,
      'stored once',
    );
  }, 60_000);
});
