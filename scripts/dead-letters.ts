/**
 * Inspect or replay a dead-letter queue:
 *   npx tsx scripts/dead-letters.ts peek persistence.events
 *   npx tsx scripts/dead-letters.ts replay persistence.events [--limit N]
 * AMQP_URL defaults to the local `npm start` broker.
 */
import { processDeadLetters } from './lib/dead-letters';

async function main(): Promise<void> {
  const [mode, queue, ...rest] = process.argv.slice(2);
  if ((mode !== 'peek' && mode !== 'replay') || !queue) {
    process.stderr.write(
      'usage: tsx scripts/dead-letters.ts peek|replay <queue, e.g. persistence.events> [--limit N]\n',
    );
    process.exit(2);
  }
  const li = rest.indexOf('--limit');
  const limit = li >= 0 ? Number(rest[li + 1]) : Infinity;
  const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const letters = await processDeadLetters(url, queue, mode, limit);
  for (const l of letters) process.stdout.write(`${JSON.stringify(l)}\n`);
  process.stdout.write(`${letters.length} message(s) ${mode === 'peek' ? 'in' : 'replayed from'} ${queue}.dead\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`dead-letters: ${(err as Error).message}\n`);
  process.exit(1);
});
