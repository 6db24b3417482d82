import type { z } from 'zod';
import {
  AppError,
  clientEventSchemas,
  describeZodError,
  errorBody,
  type Ack,
  type ClientEventName,
} from '@chat/contracts';
import type { Logger } from '@chat/logger';

/** Who is calling: the authenticated user and the socket the event came on. */
export interface SocketContext {
  userId: string;
  username: string;
  socketId: string;
  logger: Logger;
}

type Payload<E extends ClientEventName> = z.infer<(typeof clientEventSchemas)[E]>;

export interface Handler<E extends ClientEventName> {
  /** Events whose contract requires an ack are ignored without one (nobody would learn the outcome). */
  ackRequired: boolean;
  handle: (ctx: SocketContext, payload: Payload<E>) => Promise<object>;
}

export type HandlerTable = { [E in ClientEventName]: Handler<E> };

export type AckFn = (res: Ack) => void;

export interface DispatchObserver {
  /** Called once per event with its outcome: 'ok', an error code, or 'ignored'. */
  (event: string, outcome: string): void;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  !Buffer.isBuffer(v) &&
  !ArrayBuffer.isView(v) &&
  !(v instanceof ArrayBuffer);

/**
 * The one entry point for client events: `args` are what Socket.IO hands `onAny` (payloads, then the
 * ack function if the client asked for one). Every event is parsed against the shared schema before a
 * handler sees it; anything else is answered with a coded error (or ignored without an ack). It never
 * throws: a bad client cannot take the socket, or the process, down.
 */
export async function dispatch(
  table: HandlerTable,
  ctx: SocketContext,
  event: unknown,
  args: unknown[],
  observe?: DispatchObserver,
): Promise<void> {
  const last = args[args.length - 1];
  const ack = typeof last === 'function' ? (last as AckFn) : undefined;
  const payloads = ack ? args.slice(0, -1) : args;
  const name = typeof event === 'string' ? event : String(event);
  const answer = (res: Ack, outcome: string) => {
    observe?.(name, ack ? outcome : 'ignored');
    if (!ack) return;
    try {
      ack(res);
    } catch (err) {
      ctx.logger.warn({ err, event: name }, 'ack failed');
    }
  };
  const refuse = (code: 'VALIDATION', message: string) => answer({ ok: false, ...errorBody(code, message) }, code);

  if (typeof event !== 'string' || !Object.hasOwn(table, event))
    return refuse('VALIDATION', `unknown event: ${name.slice(0, 64)}`);
  const handler = table[event as ClientEventName] as Handler<ClientEventName>;
  if (handler.ackRequired && !ack) {
    observe?.(name, 'ignored');
    return;
  }
  if (payloads.length !== 1)
    return refuse('VALIDATION', `expected one payload object, got ${payloads.length} arguments`);
  if (!isPlainObject(payloads[0])) return refuse('VALIDATION', 'payload must be a JSON object');
  const parsed = clientEventSchemas[event as ClientEventName].safeParse(payloads[0]);
  if (!parsed.success) return refuse('VALIDATION', `invalid ${name}: ${describeZodError(parsed.error)}`);

  try {
    const result = await handler.handle(ctx, parsed.data);
    answer({ ok: true, ...result }, 'ok');
  } catch (err) {
    if (err instanceof AppError) return answer({ ok: false, ...err.toBody() }, err.code);
    ctx.logger.error({ err, event: name }, 'event handler failed');
    answer({ ok: false, ...errorBody('INTERNAL', 'internal error') }, 'INTERNAL');
  }
}
