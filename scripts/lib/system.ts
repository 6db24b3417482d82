import { spawnSync } from 'node:child_process';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { findPostgresBin, findRabbitServer, isRoot } from '@chat/local-infra';
import { info } from './output';

export class StopError extends Error {}

const POLICY = '/usr/sbin/policy-rc.d';

/**
 * Postgres and RabbitMQ come from the system's packages. When missing, root installs them; anyone else
 * is told the exact command. apt would start system-wide servers on the default ports, which would
 * collide with ours, so a temporary policy-rc.d keeps them from starting during the install.
 */
export function ensureSystemPackages(): void {
  const missing = [!findPostgresBin() && 'postgresql', !findRabbitServer() && 'rabbitmq-server'].filter(
    Boolean,
  ) as string[];
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (!isRoot()) {
    throw new StopError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed. Run:\n  sudo sh -c '${cmd} && systemctl disable --now postgresql rabbitmq-server'\nthen npm start again (the system-wide servers are not used; this project runs its own).`,
    );
  }
  info(`installing ${missing.join(', ')} with apt-get (needed once)`);
  const ownPolicy = !existsSync(POLICY);
  if (ownPolicy) writeFileSync(POLICY, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update'], ['install', '-y', ...missing]]) {
      const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
      if (r.status !== 0)
        throw new StopError(`apt-get ${args.join(' ')} failed (exit ${r.status}); run it yourself: ${cmd}`);
    }
  } finally {
    if (ownPolicy) unlinkSync(POLICY);
  }
  if (!findPostgresBin() || !findRabbitServer())
    throw new StopError(`the packages installed but their servers were not found; check: ${cmd}`);
}
