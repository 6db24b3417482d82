import { randomUUID } from 'node:crypto';
import { waitFor } from '@chat/testkit';
import { collect, createHarness, send, textSend, type Harness } from './harness';
import type { RunningGateway } from '../src/server';

/**
 * A gateway emits the messages it accepted to its own sockets once the broker confirmed them; delivery
 * routes them to the other gateways only (`Envelope.origin`). One copy each, either way.
 */
describe('a message accepted by a gateway reaches its own sockets from that gateway', () => {
  let h: Harness;
  let gw1: RunningGateway;
  let gw2: RunningGateway;
  const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
  let conv: string;

  beforeAll(async () => {
    h = await createHarness();
    [gw1, gw2] = [await h.startGateway(), await h.startGateway()];
    conv = h.accounts.conversation([alice, bob, carol], { kind: 'room' }).id;
  });
  afterAll(async () => h.close());

  it('with no delivery worker running, members on the same gateway get it; those elsewhere wait for delivery', async () => {
    const a = await h.connect(gw1, alice);
    const b = await h.connect(gw1, bob);
    const c = await h.connect(gw2, carol);
    const [onB, onC] = [collect(b), collect(c)];
    const ack = await send(a, textSend(conv, 'no worker yet'));
    if (!ack.ok) throw new Error(`refused: ${JSON.stringify(ack)}`);
    await waitFor(() => onB.length === 1, 15_000, "bob's copy from his own gateway");
    expect(onB[0]).toEqual(ack.message);
    expect(onC).toEqual([]);

    // A worker starts: carol (on the other gateway) gets the message from the queue, bob no second copy.
    const worker = await h.startWorker();
    await waitFor(() => onC.length === 1, 30_000, "carol's copy through delivery");
    expect(onC[0]).toEqual(ack.message);

    // Sent through gateway 2, a later message reaches bob through delivery after anything delivery had
    // for gateway 1 before it (one queue, in order): by then a duplicate of the first would have come.
    const later = await send(c, textSend(conv, 'from the other gateway'));
    if (!later.ok) throw new Error(`refused: ${JSON.stringify(later)}`);
    await waitFor(() => onB.length === 2, 30_000, "bob's copy of carol's message");
    expect(onB.map((m) => m.id)).toEqual([ack.message.id, later.message.id]);

    // And with the worker running, a message sent on gateway 1 still reaches bob once.
    const third = await send(a, textSend(conv, 'third'));
    if (!third.ok) throw new Error(`refused: ${JSON.stringify(third)}`);
    const fourth = await send(c, textSend(conv, 'fourth'));
    if (!fourth.ok) throw new Error(`refused: ${JSON.stringify(fourth)}`);
    await waitFor(() => onB.length === 4 && onC.length === 2, 30_000, 'the third and fourth messages');
    expect(onB.map((m) => m.id)).toEqual([ack.message.id, later.message.id, third.message.id, fourth.message.id]);
    expect(onC.map((m) => m.id)).toEqual([ack.message.id, third.message.id]);
    // Delivery sent each message to the one gateway that did not accept it: 4, not 8 (the gateways
    // would drop the extra copies, but the broker and both services would have carried them).
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/delivery_routed_total\{[^}]*event="message:new"[^}]*\} 4\n/);
  }, 90_000);
});
