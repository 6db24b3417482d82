import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { z } from 'zod';
import { asyncApiJson } from './asyncapi-file';
import { clientEventSchemas, serverEventSchemas } from './socket';

const checkedIn = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'asyncapi.json'), 'utf8');

describe('docs/asyncapi.json: the socket contract, generated from the zod schemas', () => {
  it('is exactly what the schemas generate (regenerate with `npm run asyncapi`)', () => {
    expect(checkedIn).toBe(asyncApiJson());
  });

  it('is a valid AsyncAPI 3 document by the official parser, without errors', async () => {
    const { document, diagnostics } = await new Parser().parse(checkedIn);
    const errors = diagnostics.filter((d) => Number(d.severity) === 0); // 0: error
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  });

  it('names every socket event both ways, and its payload schema accepts exactly what zod accepts', () => {
    const doc = JSON.parse(checkedIn) as {
      channels: { socket: { messages: Record<string, { name: string; payload: object }> } };
    };
    const names = Object.values(doc.channels.socket.messages).map((m) => m.name);
    for (const e of [...Object.keys(clientEventSchemas), ...Object.keys(serverEventSchemas), 'session'])
      expect(names).toContain(e);
    // The document's schema and zod agree on a sample: a valid send, and one with an unknown field.
    const send = doc.channels.socket.messages['message.send']!.payload;
    const fromDoc = z.fromJSONSchema(send as never);
    const ok = {
      conversationId: '6f1c2b1e-8a4e-4c1a-9a57-2b8f0d1e4c3a',
      clientMsgId: '0b7e6f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
      body: 'hi',
    };
    expect(fromDoc.safeParse(ok).success).toBe(clientEventSchemas['message:send'].safeParse(ok).success);
    expect(fromDoc.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    expect(clientEventSchemas['message:send'].safeParse({ ...ok, extra: 1 }).success).toBe(false);
  });
});
