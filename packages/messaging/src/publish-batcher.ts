import type { Envelope, EventPayload, EventType } from '@chat/contracts';
import type { Broker, PublishOptions } from './broker';

export interface PublishBatcherOptions {
  /** How long an item may wait for others while a publish is already waiting for its confirm. */
  windowMs: number;
  /** A batch is published as soon as it holds this many items. */
  maxItems: number;
}

type Waiting<T extends EventType> = {
  payload: EventPayload<T>;
  opts?: PublishOptions;
  resolve: (e: Envelope<T>) => void;
  reject: (err: unknown) => void;
};

/**
 * Groups publishes of one event type into one confirmed broker message. Under light load nothing
 * waits: with no publish waiting for its confirm, what arrived in the current tick goes out at once.
 * Under load, items gather while a confirm is outstanding, up to `windowMs` or `maxItems`, and go out
 * together: one broker message, one confirm, one disk write for many events. Each caller's promise
 * resolves (or rejects) with the confirm of the batch that carried its event.
 */
export class PublishBatcher<T extends EventType> {
  private buffer: Waiting<T>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly type: T,
    private readonly opts: PublishBatcherOptions,
  ) {}

  publish(payload: EventPayload<T>, opts?: PublishOptions): Promise<Envelope<T>> {
    return new Promise((resolve, reject) => {
      this.buffer.push({ payload, opts, resolve, reject });
      if (this.buffer.length >= this.opts.maxItems) return this.flush();
      if (this.inFlight === 0) this.immediate ??= setImmediate(() => this.flush());
      else this.timer ??= setTimeout(() => this.flush(), this.opts.windowMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    if (this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, this.opts.maxItems);
    this.inFlight++;
    this.broker
      .publishBatch(
        this.type,
        batch.map((w) => ({ payload: w.payload, opts: w.opts })),
      )
      .then(
        (envs) => batch.forEach((w, i) => w.resolve(envs[i]!)),
        (err) => batch.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight--;
        // What gathered while this batch waited goes out now rather than at the end of its window.
        if (this.buffer.length && this.inFlight === 0) this.flush();
      });
    if (this.buffer.length) this.timer ??= setTimeout(() => this.flush(), this.opts.windowMs);
  }
}
