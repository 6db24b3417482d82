import { mkdir, readFile, rename, writeFile, link, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type JSONWebKeySet } from 'jose';
import { TOKEN_ALG, type PrivateKey } from '@chat/auth';

export interface SigningKeys {
  kid: string;
  privateKey: PrivateKey;
  jwks: JSONWebKeySet;
}

const FILE = 'access-token-ed25519.jwk.json';

/**
 * The access-token key pair: generated on first start, kept in `dir` (mode 0600) and reused on every
 * restart so tokens outlive a restart. Two processes starting at once agree on one key: the file is
 * published with link(2), which fails if another process got there first, and then that one is read.
 */
export async function loadOrCreateSigningKeys(dir: string): Promise<SigningKeys> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, FILE);
  let jwk = await readJwk(path);
  if (!jwk) {
    const { privateKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519', extractable: true });
    const fresh = await exportJWK(privateKey);
    fresh.kid = await calculateJwkThumbprint(fresh);
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, JSON.stringify(fresh), { mode: 0o600 });
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        // Filesystems without hard links: fall back to an atomic rename.
        await rename(tmp, path).catch(() => undefined);
      }
    }
    await unlink(tmp).catch(() => undefined);
    jwk = await readJwk(path);
    if (!jwk) throw new Error(`could not write the signing key to ${path}`);
  }
  const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
  const privateKey = (await importJWK({ ...jwk, alg: TOKEN_ALG }, TOKEN_ALG)) as PrivateKey;
  const { d: _secret, ...pub } = jwk;
  return { kid, privateKey, jwks: { keys: [{ ...pub, kid, alg: TOKEN_ALG, use: 'sig' }] } };
}

async function readJwk(path: string): Promise<JWK | null> {
  try {
    const jwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
    return jwk.kty === 'OKP' && jwk.d ? jwk : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
