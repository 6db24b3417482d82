import * as mls from './mls';
import { utf8 } from './bytes';
import type { DeviceInfo, E2ERequest } from './types';

/** A user's registered end-to-end devices (those of this client's MLS ciphersuite). */
export async function listDevices(request: E2ERequest, userId: string): Promise<DeviceInfo[]> {
  const list = await request<Array<DeviceInfo & { algorithm: string | null }>>('GET', `/users/${userId}/devices`);
  return list
    .filter((d) => d.algorithm === mls.CIPHERSUITE)
    .map(({ userId: u, deviceId, publicKey }) => ({ userId: u, deviceId, publicKey }));
}

/** The devices added to and removed from a list since it was `seen` (a changed key counts as both). */
export function diffDevices(seen: DeviceInfo[], now: DeviceInfo[]): { added: DeviceInfo[]; removed: DeviceInfo[] } {
  const id = (d: DeviceInfo) => `${d.deviceId}/${d.publicKey}`;
  const seenIds = new Set(seen.map(id));
  const nowIds = new Set(now.map(id));
  return { added: now.filter((d) => !seenIds.has(id(d))), removed: seen.filter((d) => !nowIds.has(id(d))) };
}

/** 60 digits (12 groups of 5) from a SHA-512 over the sorted device list. */
export async function safetyNumber(devices: DeviceInfo[]): Promise<string> {
  const lines = devices.map((d) => `${d.userId}/${d.deviceId}/${d.publicKey}`).sort();
  const digest = new Uint8Array(
    await globalThis.crypto.subtle.digest('SHA-512', utf8(`chat-safety-number-v1\n${lines.join('\n')}`)),
  );
  const groups: string[] = [];
  for (let i = 0; i < 12; i++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = (n * 256 + digest[i * 5 + j]!) % 100000;
    groups.push(String(n).padStart(5, '0'));
  }
  return groups.join(' ');
}
