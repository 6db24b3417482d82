import { parseArgs } from 'node:util';
import { median } from './lib/stats';
import { spawnRelay } from './relay/spawn';
import { idle, pairs, room, type Options } from './scenarios';
import { relayTarget, stackTarget } from './targets';

/**
 * The load tool: `npm run bench -- --scenario pairs --users 100 --messages 5000 [--rate 500]` against a
 * running stack (`npm start`), on the public origin only (what any client can do).
 * `--compare [--rounds 3]` runs the pairs workload on the bare Socket.IO relay (bench/relay, started
 * here) and on the stack, interleaved, and prints every figure as a ratio to the relay's in the same run.
 * `--target relay --origin <relay>` drives a relay started by hand.
 */
async function main() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'pairs' },
      origin: { type: 'string', default: process.env.CHAT_ORIGIN ?? 'http://127.0.0.1:8080' },
      target: { type: 'string', default: 'stack' },
      compare: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '3' },
      users: { type: 'string', default: '100' },
      messages: { type: 'string', default: '5000' },
      rate: { type: 'string', default: '0' },
      window: { type: 'string', default: '256' },
      'room-size': { type: 'string', default: '1000' },
      sockets: { type: 'string', default: '10000' },
      'persistence-metrics': { type: 'string' },
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
    persistenceMetrics: values['persistence-metrics'],
  };
  if (values.compare) return compare(o, Number(values.rounds));
  let result: unknown;
  if (values.scenario === 'pairs')
    result = await pairs(o, values.target === 'relay' ? relayTarget(o.origin) : stackTarget(o.origin));
  else {
    const run = { room, idle }[values.scenario as 'room' | 'idle'];
    if (!run) throw new Error(`unknown scenario ${values.scenario}: pairs, room or idle`);
    result = await run(o);
  }
  process.stdout.write(`${JSON.stringify({ result, options: o, at: new Date().toISOString() }, null, 2)}\n`);
  process.exit(0);
}

type PairsResult = Awaited<ReturnType<typeof pairs>>;

async function compare(o: Options, rounds: number) {
  const relay = await spawnRelay();
  const runs: Array<{ relay: PairsResult; stack: PairsResult }> = [];
  try {
    // The relay's JIT warms up over its first thousands of messages: a discarded warm-up run first, so
    // round 1 does not flatter the stack.
    await pairs({ ...o, rate: 0, messages: Math.min(o.messages, 5_000) }, relayTarget(relay.origin));
    for (let r = 0; r < rounds; r++) {
      const rel = await pairs(o, relayTarget(relay.origin));
      const st = await pairs(o, stackTarget(o.origin));
      runs.push({ relay: rel, stack: st });
      process.stderr.write(
        `round ${r + 1}: relay ${rel.deliveredPerSecond} msg/s, stack ${st.deliveredPerSecond} msg/s (${pct(st.deliveredPerSecond / rel.deliveredPerSecond)}); ` +
          `stack p99 ${st.sendToDeliveryMs.p99.toFixed(1)} ms, cpu ${st.targetCpuMsPerMessage} ms/msg (relay ${rel.targetCpuMsPerMessage}), ` +
          `${st.targetCpuPercent}% of a core (relay ${rel.targetCpuPercent}%, ${times(st.targetCpuPercent / rel.targetCpuPercent)}); ` +
          `delivered ${st.delivered}/${st.acked}, persisted ${st.persisted}, dup ${st.duplicatesInHistory}+${st.duplicateDeliveries}, history read back after ${st.historyCheckAfterLastAckMs} ms, persistence drained ${st.persistenceDrainedAfterLastAckMs} ms after the last ack\n`,
      );
    }
  } finally {
    await relay.stop();
  }
  const m = (f: (x: PairsResult) => number, who: 'relay' | 'stack') => median(runs.map((x) => f(x[who])));
  const ratio = median(runs.map((x) => x.stack.deliveredPerSecond / x.relay.deliveredPerSecond));
  const summary = {
    rounds,
    options: o,
    at: new Date().toISOString(),
    medians: {
      relayMsgPerSec: m((x) => x.deliveredPerSecond, 'relay'),
      stackMsgPerSec: m((x) => x.deliveredPerSecond, 'stack'),
      throughputRatio: Math.round(ratio * 1000) / 1000,
      stackSendToDeliveryP50Ms: m((x) => x.sendToDeliveryMs.p50, 'stack'),
      stackSendToDeliveryP99Ms: m((x) => x.sendToDeliveryMs.p99, 'stack'),
      relaySendToDeliveryP99Ms: m((x) => x.sendToDeliveryMs.p99, 'relay'),
      stackCpuPercent: m((x) => x.targetCpuPercent, 'stack'),
      relayCpuPercent: m((x) => x.targetCpuPercent, 'relay'),
      // The host's speed moves both alike (a shared machine's neighbours): the ratio of the same round's
      // CPU is steadier than either figure alone.
      cpuRatioToRelay:
        Math.round(median(runs.map((x) => x.stack.targetCpuPercent / x.relay.targetCpuPercent)) * 100) / 100,
      stackCpuMsPerMessage: m((x) => x.targetCpuMsPerMessage, 'stack'),
      relayCpuMsPerMessage: m((x) => x.targetCpuMsPerMessage, 'relay'),
      stackHistoryAfterLastAckMs: m((x) => x.historyCheckAfterLastAckMs ?? NaN, 'stack'),
      stackPersistenceDrainedAfterLastAckMs: m((x) => x.persistenceDrainedAfterLastAckMs ?? NaN, 'stack'),
    },
    allComplete: runs.every(
      (x) =>
        x.stack.delivered === x.stack.sent &&
        x.stack.persisted === x.stack.sent &&
        x.stack.duplicatesInHistory === 0 &&
        x.stack.duplicateDeliveries === 0,
    ),
    runs,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(
    `median: stack ${summary.medians.stackMsgPerSec} msg/s = ${pct(ratio)} of the relay's ${summary.medians.relayMsgPerSec}; ` +
      `stack cpu ${summary.medians.stackCpuPercent}% of a core, ${summary.medians.stackCpuMsPerMessage} ms/msg ` +
      `(relay ${summary.medians.relayCpuPercent}%, ${summary.medians.relayCpuMsPerMessage} ms/msg; ${times(summary.medians.cpuRatioToRelay)}), ` +
      `p99 ${summary.medians.stackSendToDeliveryP99Ms.toFixed(1)} ms\n`,
  );
  process.exit(0);
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}× the relay's` : 'relay idle');

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
