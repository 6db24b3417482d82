/**
 * Turns the classic durable queues of a broker set up by an earlier version into quorum queues, keeping
 * their messages (see docs/operations.md). Stop the services first; `npm start` runs it by itself.
 *   AMQP_URL=amqp://user:pass@host:5672/vhost npm run broker:migrate-quorum
 * AMQP_URL defaults to the local `npm start` broker.
 */
import { migrateToQuorum } from '@chat/messaging';

async function main(): Promise<void> {
  const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const report = await migrateToQuorum(url);
  for (const m of report.migrated) process.stdout.write(`${m.queue}: classic -> quorum, ${m.moved} message(s) moved\n`);
  process.stdout.write(
    `${report.migrated.length} queue(s) migrated, ${report.unchanged.length} already quorum or not declared yet\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`migrate-quorum: ${(err as Error).message}\n`);
  process.exit(1);
});
