import { parseEnvelope, type AnyEnvelope } from '@chat/contracts';

const validTime = (s: string) => !Number.isNaN(Date.parse(s));

/**
 * The envelope parse plus what the contract's Message schema leaves open but history needs: a text
 * message has a body and no ciphertext, an encrypted one the reverse, and times are real times. A
 * message that fails here is dead-lettered by the broker client instead of failing its whole batch.
 */
export function parseEvent(raw: unknown): AnyEnvelope {
  const env = parseEnvelope(raw);
  if (env.type === 'message.created') {
    const m = env.payload;
    if (m.kind === 'text' && (m.body === undefined || m.encrypted !== undefined || m.event !== undefined))
      throw new Error('a text message needs a body and nothing else');
    if (m.kind === 'encrypted' && (m.encrypted === undefined || m.body !== undefined || m.event !== undefined))
      throw new Error('an encrypted message needs an encrypted payload and nothing else');
    if (m.kind === 'event' && (m.event === undefined || m.body !== undefined || m.encrypted !== undefined))
      throw new Error('a room event needs an event and nothing else');
    if (!validTime(m.createdAt)) throw new Error('createdAt is not a time');
  } else if (env.type === 'message.read') {
    if (!validTime(env.payload.at)) throw new Error('at is not a time');
  } else if (env.type === 'conversation.changed') {
    if (!validTime(env.occurredAt)) throw new Error('occurredAt is not a time');
  }
  return env;
}
