import { parseArgs } from 'node:util';
import { idle, pairs, room, type Options } from './scenarios';

/**
 * The load tool: `npm run bench -- --scenario pairs --users 100 --messages 5000 [--rate 500]` against a
 * running stack (`npm start`), on the public origin only (what any client can do).
 */
async function main() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'pairs' },
      origin: { type: 'string', default: process.env.CHAT_ORIGIN ?? 'http://127.0.0.1:8080' },
      users: { type: 'string', default: '100' },
      messages: { type: 'string', default: '5000' },
      rate: { type: 'string', default: '0' },
      window: { type: 'string', default: '256' },
      'room-size': { type: 'string', default: '1000' },
      sockets: { type: 'string', default: '10000' },
    },
  });
  const o: Options = {
    origin: values.origin,
    users: Number(values.users),
    messages: Number(values.messages),
    rate: Number(values.rate),
    window: Number(values.window),
    roomSize: Number(values['room-size']),
    sockets: Number(values.sockets),
  };
  const run = { pairs, room, idle }[values.scenario as 'pairs' | 'room' | 'idle'];
  if (!run) throw new Error(`unknown scenario ${values.scenario}: pairs, room or idle`);
  const result = await run(o);
  process.stdout.write(`${JSON.stringify({ ...result, options: o, at: new Date().toISOString() }, null, 2)}\n`);
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
