import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { describeZodError, EventBatch, parseEnvelope, type AnyEnvelope } from '@chat/contracts';
import { EXCHANGES } from './topology';
import type { Logger } from '@chat/logger';
import { ZodError } from 'zod';
import type { BrokerMetrics } from './metrics';

export interface ConsumerSpec<M = AnyEnvelope> {
  queue: string;
  /** Unacked messages the broker may hand this consumer at once. */
  prefetch?: number;
  /**
   * Turns the JSON of one event into what `handle` takes; throws to dead-letter it. Default: an
   * envelope. A broker message may carry a batch of events (`{v, batch: [...]}`, see EventBatch):
   * each is parsed on its own, and one that fails is dead-lettered alone, its batch carrying on.
   */
  parse?: (raw: unknown) => M;
  /** `single`: the message body is one item, never an event batch (e.g. a gateway's delivery batch). */
  frame?: 'events' | 'single';
  /** A batch handed to `handle` stops growing at this many items (events), whatever the messages carry. */
  maxItems?: number;
  /**
   * For a consumer off the latency path (persistence): a batch smaller than `batchSize` may wait this
   * long for more, so a trickle of events is not one transaction each. Default 0: never waits.
   */
  lingerMs?: number;
  /**
   * Handles what arrived while the previous call ran (natural batching: one item when idle, up to
   * `batchSize` under load). Every item is acked after it resolves; it must be idempotent, since a
   * crash before the ack redelivers.
   */
  handle: (items: M[], ctx: { logger: Logger }) => Promise<void>;
  batchSize?: number;
  /** Attempts for a failure that is not transient before the message is dead-lettered. */
  maxAttempts?: number;
  /** A transient failure (database down...) is retried without limit, after `retryDelayMs`. */
  isTransient?: (err: unknown) => boolean;
  retryDelayMs?: number;
  /** Declares the queue (a private one) on the consumer's channel before consuming, on every (re)connect. */
  declare?: (ch: Channel) => Promise<void>;
  /**
   * Handled messages are acked together: one `multiple` ack for the newest handled delivery at most this
   * many ms later, or at once when half the prefetch is waiting for it. At a few hundred messages a
   * second that is one ack frame (one write, one broker operation; on a quorum queue one log command)
   * instead of one per message. An ack only ever follows the handling, so a crash in between
   * redelivers, as with per-message acks; handlers are idempotent either way.
   */
  ackEveryMs?: number;
}

interface Ctx {
  logger: Logger;
  metrics: BrokerMetrics;
}

const ATTEMPTS_HEADER = 'x-attempts';

export interface ActiveConsumer {
  queue: string;
  stop: () => Promise<void>;
  /** When it last received or finished work, if it holds none now (nothing buffered or running); else null. */
  idleSince: () => number | null;
}

export async function startConsumer<M>(
  model: ChannelModel,
  spec: ConsumerSpec<M>,
  ctx: Ctx,
  onUnexpectedClose: () => void,
): Promise<ActiveConsumer> {
  const batchSize = spec.batchSize ?? 1;
  const ch = await model.createChannel();
  let stopping = false;
  // Grouped acks (ackEveryMs). Declared before the 'close' listener that reads them: a channel that closes
  // while the queue is declared or the prefetch set (the broker going away) ran it before a later `let`
  // was initialised, a ReferenceError thrown out of amqplib's close: an uncaught exception, exit 1.
  let lastHandled: ConsumeMessage | null = null;
  let unacked = 0;
  let ackTimer: NodeJS.Timeout | null = null;
  ch.on('error', () => undefined);
  ch.on('close', () => {
    if (ackTimer) clearTimeout(ackTimer);
    ackTimer = null;
    if (!stopping) onUnexpectedClose();
  });
  if (spec.declare) await spec.declare(ch);
  const prefetch = spec.prefetch ?? Math.max(16, batchSize * 2);
  await ch.prefetch(prefetch);
  const parse = spec.parse ?? (parseEnvelope as unknown as (raw: unknown) => M);
  const maxItems = spec.maxItems ?? Infinity;
  const log = ctx.logger.child({ queue: spec.queue });
  type Entry = { msg: ConsumeMessage; items: M[] };
  let buffer: Entry[] = [];
  let running: Promise<void> | null = null;
  let lastActivity = Date.now();

  const deadLetter = (msg: ConsumeMessage, reason: string) => {
    ctx.metrics.deadLettered.inc({ queue: spec.queue, reason });
    safe(() => ch.nack(msg, false, false));
  };

  const why = (err: unknown) => (err instanceof ZodError ? describeZodError(err) : (err as Error).message);

  /** The items of one message; null when the message as a whole is malformed (dead-lettered). */
  const parseOne = (msg: ConsumeMessage): M[] | null => {
    try {
      const raw: unknown = JSON.parse(msg.content.toString('utf8'));
      if (spec.frame !== 'single' && raw !== null && typeof raw === 'object' && 'batch' in raw) {
        const items: M[] = [];
        for (const event of EventBatch.parse(raw).batch) {
          try {
            items.push(parse(event));
          } catch (err) {
            // One bad event of a batch goes to the dead letters alone; the rest are handled.
            log.warn(
              { messageId: msg.properties.messageId, why: why(err) },
              'malformed event of a batch dead-lettered',
            );
            ctx.metrics.deadLettered.inc({ queue: spec.queue, reason: 'malformed' });
            safe(() =>
              ch.publish(EXCHANGES.deadLetter, spec.queue, Buffer.from(JSON.stringify(event)), {
                persistent: true,
                contentType: 'application/json',
              }),
            );
          }
        }
        return items;
      }
      return [parse(raw)];
    } catch (err) {
      log.warn({ messageId: msg.properties.messageId, why: why(err) }, 'malformed message dead-lettered');
      deadLetter(msg, 'malformed');
      return null;
    }
  };

  /**
   * Without `ackEveryMs`, each message of a handled batch is acked with its own frame (the frames of one
   * tick leave in one write: see cork.ts). With it, one `multiple` ack. (That was once blamed for
   * acknowledged messages missing from history on a 3-node cluster after kill -9 of a queue leader; the
   * causes found since were in the gateway: a retry after a lost confirm taking a fresh id, and a copy of
   * a nacked publish answering the retry: see recent-sends.ts. With both fixed the shared quorum queues
   * use grouped acks too.)
   */
  const ackAll = (entries: Entry[]) => {
    if (spec.ackEveryMs === undefined) {
      for (const { msg } of entries) safe(() => ch.ack(msg));
      return;
    }
    // Batches run one at a time in delivery order: every delivery up to the newest handled one has been
    // handled (acked here, or settled on its own by a nack or a retry), so one `multiple` ack covers them.
    for (const { msg } of entries) {
      if (!lastHandled || msg.fields.deliveryTag > lastHandled.fields.deliveryTag) lastHandled = msg;
      unacked++;
    }
    if (unacked >= prefetch / 2) flushAcks();
    else ackTimer ??= setTimeout(flushAcks, spec.ackEveryMs);
  };
  const flushAcks = () => {
    if (ackTimer) clearTimeout(ackTimer);
    ackTimer = null;
    const last = lastHandled;
    lastHandled = null;
    unacked = 0;
    if (last) safe(() => ch.ack(last, true));
  };

  const run = async (entries: Entry[]): Promise<void> => {
    const items = entries.flatMap((e) => e.items);
    if (items.length === 0) {
      ackAll(entries);
      return;
    }
    const end = ctx.metrics.handleSeconds.startTimer({ queue: spec.queue });
    try {
      await spec.handle(items, { logger: log });
      ackAll(entries);
      ctx.metrics.consumed.inc({ queue: spec.queue }, entries.length);
    } catch (err) {
      if (spec.isTransient?.(err)) {
        log.warn({ err: (err as Error).message, count: entries.length }, 'transient failure; will retry');
        await delay(spec.retryDelayMs ?? 1_000);
        ctx.metrics.retried.inc({ queue: spec.queue }, entries.length);
        for (const { msg } of entries) safe(() => ch.nack(msg, false, true));
      } else if (entries.length > 1) {
        // Isolate the poison message: the others must not share its fate.
        for (const one of entries) await run([one]);
      } else {
        await retryOrDeadLetter(entries[0]!.msg, err);
      }
    } finally {
      end();
    }
  };

  const retryOrDeadLetter = async (msg: ConsumeMessage, err: unknown) => {
    const attempts = Number(msg.properties.headers?.[ATTEMPTS_HEADER] ?? 0) + 1;
    if (attempts >= (spec.maxAttempts ?? 5)) {
      log.error({ err, messageId: msg.properties.messageId, attempts }, 'message keeps failing; dead-lettered');
      deadLetter(msg, 'failed');
      return;
    }
    log.warn({ err, messageId: msg.properties.messageId, attempts }, 'message failed; retrying');
    ctx.metrics.retried.inc({ queue: spec.queue });
    // Re-publish a copy with the attempt count, then ack the original: the count survives redelivery.
    safe(() => {
      ch.sendToQueue(spec.queue, msg.content, {
        ...msg.properties,
        headers: { ...msg.properties.headers, [ATTEMPTS_HEADER]: attempts },
        persistent: true,
      });
      ch.ack(msg);
    });
  };

  let lingering: NodeJS.Timeout | null = null;
  let lingerSince = 0;
  const pump = () => {
    if (running || buffer.length === 0) return;
    const linger = spec.lingerMs ?? 0;
    if (linger > 0 && !stopping) {
      const items = buffer.reduce((a, e) => a + e.items.length, 0);
      if (buffer.length < batchSize && items < maxItems) {
        if (!lingerSince) lingerSince = Date.now();
        const left = lingerSince + linger - Date.now();
        if (left > 0) {
          lingering ??= setTimeout(() => {
            lingering = null;
            pump();
          }, left);
          return;
        }
      }
      if (lingering) clearTimeout(lingering);
      lingering = null;
      lingerSince = 0;
    }
    let n = 0;
    let count = 0;
    while (n < buffer.length && n < batchSize && (n === 0 || count + buffer[n]!.items.length <= maxItems))
      count += buffer[n++]!.items.length;
    const take = buffer.slice(0, n);
    buffer = buffer.slice(n);
    running = run(take)
      .catch((err) => log.error({ err }, 'consumer batch failed'))
      .finally(() => {
        running = null;
        lastActivity = Date.now();
        pump();
      });
  };

  const { consumerTag } = await ch.consume(spec.queue, (msg) => {
    if (!msg) return; // cancelled by the broker (queue deleted): the connection-level recovery handles it
    // Stopping: take no new work. Left unacked, it goes back to the queue when the channel closes.
    if (stopping) return;
    lastActivity = Date.now();
    const items = parseOne(msg);
    if (items === null) return;
    buffer.push({ msg, items });
    pump();
  });
  log.debug({ consumerTag }, 'consuming');

  return {
    queue: spec.queue,
    idleSince: () => (running || buffer.length ? null : lastActivity),
    /**
     * Finishes and acks the running batch and what is buffered, then cancels and closes. The cancel
     * comes AFTER the last acks, on purpose: a quorum queue may apply acks sent just before its channel
     * closes after the close itself (seen on RabbitMQ 3.10; upstream rabbitmq-server#10327), so
     * messages already handled and acked went back to the queue and were handled again after the
     * restart. basic.cancel on a quorum queue is a synchronous command through the queue's log, behind
     * the acks the channel sent before it: once it is answered, they are applied (measured: no lost ack
     * in 70 stops, against one stop in two losing part of its last batch's acks with the cancel first).
     * Deliveries that arrive meanwhile are not handled: unacked, they return to the queue on close.
     */
    async stop() {
      stopping = true;
      if (lingering) clearTimeout(lingering);
      lingering = null;
      while (running || buffer.length) {
        pump();
        await running;
      }
      flushAcks();
      await ch.cancel(consumerTag).catch(() => undefined);
      await ch.close().catch(() => undefined);
    },
  };
}

/** Delivery tags strictly increasing (one channel's deliveries, in the order they arrived). */
function safe(fn: () => void) {
  try {
    fn();
  } catch {
    // The channel is gone: the broker redelivers whatever was not acked.
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
