import { z } from 'zod';
import { ErrorBody } from './errors';
import { clientEventSchemas, serverEventSchemas } from './socket';
import { EventMeta, ResumeRequest, SessionEvent } from './session';
import { Message } from './objects';

/**
 * The socket contract as an AsyncAPI 3 document, generated from the same zod schemas the gateway
 * parses with and the clients are typed by: `docs/asyncapi.json` is this function's output (a test
 * fails when they differ; regenerate with `npm run asyncapi`), and the gateway serves it at
 * `GET /asyncapi.json`. It describes the gateway: it receives client events and sends server events.
 */

const schema = (s: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { target: 'draft-7', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};
/** The shape of an acknowledgement (the `Ack` type in socket.ts). */
const Ack = (ok: z.ZodObject) =>
  z.union([ok.extend({ ok: z.literal(true) }), ErrorBody.extend({ ok: z.literal(false) })]);
const key = (event: string) => event.replace(/:/g, '.');

const clientDocs: Record<keyof typeof clientEventSchemas, { summary: string; ack: z.ZodType }> = {
  'message:send': {
    summary:
      'Send a message; the ack carries it once durable. Resend with the same clientMsgId and resend: true when the outcome is unknown.',
    ack: Ack(z.object({ message: Message })),
  },
  typing: { summary: 'Typing indicator; re-send true every few seconds while typing.', ack: Ack(z.object({})) },
  read: { summary: 'Everything up to and including messageId is read (forward only).', ack: Ack(z.object({})) },
};
const serverDocs: Record<keyof typeof serverEventSchemas, string> = {
  'message:new': 'A message in one of your conversations (not echoed to the socket that sent it).',
  typing: 'Another member typing (true) or stopped (false).',
  read: "A member's read marker moved.",
  presence: 'A friend or co-member came online or went offline.',
  friends: 'A friend request, an acceptance, or a removal (declined, cancelled, unfriended).',
  conversation: 'A conversation you are (or were) in was created, updated, or gained or lost a member.',
  invitation: 'A room invitation to you or from you was created, accepted, declined or cancelled.',
  e2e: 'End-to-end encryption: a commit (and welcomes for the devices it added) awaits your devices in an encrypted conversation.',
  resync: 'The gateway lost its broker connection: live events may be missing; fetch history after your cursors.',
};

export function buildAsyncApi(opts: { version: string; origin?: string } = { version: '1.2.0' }) {
  const host = (opts.origin ?? 'http://localhost:8080').replace(/^https?:\/\//, '');
  const messages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const channel = { $ref: '#/channels/socket' };
  const ref = (k: string) => ({ $ref: `#/channels/socket/messages/${k}` });

  for (const [event, s] of Object.entries(clientEventSchemas)) {
    const k = key(event);
    const doc = clientDocs[event as keyof typeof clientEventSchemas];
    messages[k] = { name: event, title: event, summary: doc.summary, payload: schema(s, 'input') };
    messages[`${k}.ack`] = {
      name: `${event} ack`,
      title: `${event} acknowledgement`,
      summary: 'The Socket.IO acknowledgement: {ok: true, ...} or {ok: false, error}.',
      payload: schema(doc.ack, 'input'),
    };
    operations[`receive.${k}`] = {
      action: 'receive',
      channel,
      summary: doc.summary,
      messages: [ref(k)],
      reply: { channel, messages: [ref(`${k}.ack`)] },
    };
  }
  for (const [event, s] of Object.entries(serverEventSchemas)) {
    const k = key(event);
    if (event === 'resync') {
      // Broadcast to every socket at once, outside the sessions: no `seq`.
      messages[k] = { name: event, title: event, summary: serverDocs.resync, payload: schema(s, 'input') };
      operations[`send.${k}`] = { action: 'send', channel, summary: serverDocs.resync, messages: [ref(k)] };
      continue;
    }
    messages[k] = {
      name: event,
      title: event,
      summary: serverDocs[event as keyof typeof serverEventSchemas],
      description:
        'Emitted with two arguments: this payload, then the event meta `{ seq }` (components/schemas/EventMeta).',
      payload: schema(s, 'input'),
      'x-socketio-args': [
        { $ref: `#/channels/socket/messages/${k}/payload` },
        { $ref: '#/components/schemas/EventMeta' },
      ],
    };
    operations[`send.${k}`] = {
      action: 'send',
      channel,
      summary: serverDocs[event as keyof typeof serverEventSchemas],
      messages: [ref(k)],
    };
  }
  messages.session = {
    name: 'session',
    title: 'session',
    summary:
      "The first event of every connection: the socket session's id, and whether a requested resume happened (else resync).",
    payload: schema(SessionEvent, 'input'),
  };
  operations['send.session'] = {
    action: 'send',
    channel,
    summary: 'Sent once, first, on every connection.',
    messages: [ref('session')],
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'chat-platform socket API',
      version: opts.version,
      description:
        'Socket.IO on the public origin (path /socket.io). Each event takes one JSON payload object; client events take an acknowledgement callback. ' +
        'Handshake: `auth: { token, resume? }` (components/schemas/HandshakeAuth). A refused handshake answers connect_error with `data` = ErrorBody. ' +
        'See docs/api.md for the rules and docs/changelog.md for versions.',
    },
    defaultContentType: 'application/json',
    servers: {
      origin: {
        host,
        protocol: 'ws',
        pathname: '/socket.io',
        description: 'The public origin (the gateway), Socket.IO v4 over WebSocket or polling',
      },
    },
    channels: { socket: { address: '/socket.io', title: 'The Socket.IO connection', messages } },
    operations,
    components: {
      schemas: {
        HandshakeAuth: schema(
          z.object({
            token: z.string().describe("a person's access token (JWT) or a bot's API token (cbt_...)"),
            resume: ResumeRequest.optional().describe('the session to resume and the last seq you processed'),
          }),
          'input',
        ),
        EventMeta: schema(EventMeta, 'input'),
        ErrorBody: schema(ErrorBody, 'input'),
      },
    },
  };
}
