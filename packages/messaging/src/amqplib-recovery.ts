import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { Logger } from '@chat/logger';

/**
 * Workarounds for amqplib's connection recovery (`amqp.connect(url, { recovery })`, amqplib 2.x), used by
 * the Broker's connect and set-up. What amqplib does that makes them necessary:
 *
 * - Its recovery adds its own 'error' and 'close' listeners to a connection only once our `setup` has
 *   succeeded (`_bindModel`). Until then an 'error' has no listener, and an EventEmitter throws it, and a
 *   'close' goes unnoticed: see `catchSetupErrors` and `watchCloseDuringSetup`.
 * - A connection it opened after `close()` was called is closed without running our set-up at all:
 *   see `quietOnClose`.
 * - When a confirm channel closes, it fails the confirms still awaited on it with the same callback
 *   error as a nack: see `noteConfirmsLostOnClose`.
 */

/**
 * Until the set-up succeeded, an 'error' on the connection (the broker dropping the socket without a
 * goodbye: a reset, a node going down, a missed heartbeat) had no listener, so the EventEmitter threw it
 * out of the socket's callback: an uncaught exception, and the service exited (exitOnCrash). Seen in
 * test/foundation/broker-outage: the broker stopped while the delivery worker was still setting up;
 * `write ECONNRESET`, exit 1. With a listener the connection closes as it should, the set-up fails, and
 * recovery tries again (the 'connect-failed' warning says why). Call it first thing in the set-up; it
 * stays for the connection's life: harmless after.
 */
export function catchSetupErrors(m: ChannelModel, logger: Logger): void {
  m.on('error', (err: Error) => logger.debug({ err: err.message }, 'broker connection error'));
}

/**
 * Recovery watches a connection's 'close' only once the set-up has succeeded. A broker that shuts down
 * while the set-up's last replies are in flight sends them and its Connection.Close together: the
 * connection closes (unwatched), then the set-up completes, and recovery took the dead connection as
 * connected: no 'disconnect', no reconnect, /readyz 200 for good while every publish failed
 * (broker-outage.int.test.ts, once in 15 runs: "timed out waiting for /readyz 503"). Call it before the
 * set-up starts; the set-up fails if the returned function says true after its last await (only
 * microtasks run between then and recovery watching the connection), and recovery tries again.
 */
export function watchCloseDuringSetup(m: ChannelModel): () => boolean {
  let closed = false;
  m.once('close', () => (closed = true));
  return () => closed;
}

/** Confirm channels that closed, so their failed confirms were lost with them (see below). */
const closedChannels = new WeakSet<object>();

/**
 * Marks the channel when it closes, before amqplib's own 'close' listener fails its outstanding
 * confirms: a confirm lost with its channel is not a nack (a nack renews the connection and holds off
 * the next renewal for 5 s). Call it before anything is published on the channel.
 */
export function noteConfirmsLostOnClose(confirm: ConfirmChannel): void {
  confirm.prependListener('close', () => closedChannels.add(confirm));
}

/** A failed confirm on this channel was the channel closing, not the broker refusing the message. */
export function confirmsLostOnClose(ch: ConfirmChannel): boolean {
  return closedChannels.has(ch);
}

/**
 * amqplib's recovery closes a connection it opened after `close()` was called WITHOUT running our
 * set-up, so with no 'error' listener on it: a reset of that connection while it closes, or a heartbeat
 * timeout if its close never completes, was thrown as an uncaught exception (a service exits on those),
 * in a jest worker after the test that leaked it. Every connection it closes gets a listener first.
 * This reaches into amqplib's recovery (`_closeModelNoThrow`, amqplib 2.x); if the shape differs,
 * nothing is changed.
 */
export function quietOnClose(model: object): void {
  const rec = model as unknown as { _closeModelNoThrow?: (m: ChannelModel) => Promise<void> };
  const close = rec._closeModelNoThrow;
  if (typeof close !== 'function') return;
  rec._closeModelNoThrow = function (this: unknown, m: ChannelModel) {
    m.on('error', () => undefined);
    return close.call(this, m);
  };
}
