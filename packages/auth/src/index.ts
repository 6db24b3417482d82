import { createLocalJWKSet, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { AppError } from '@chat/contracts';

/** Access tokens: EdDSA (Ed25519) JWTs issued by accounts, verified elsewhere through its JWKS. */
export const TOKEN_ISSUER = 'chat-accounts';
export const TOKEN_AUDIENCE = 'chat';
export const TOKEN_ALG = 'EdDSA';

export interface AccessClaims {
  userId: string;
  username: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** The session (refresh-token family) the token was issued for, when it names one (`sid`). */
  sessionId?: string;
}

export type Verifier = (token: string) => Promise<AccessClaims>;

/** Verifies against the issuer's JWKS, fetched once and refreshed on an unknown key id (cached by jose). */
export function createVerifier(keys: JWTVerifyGetKey): Verifier {
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: [TOKEN_ALG] });
      if (typeof payload.sub !== 'string' || typeof payload.username !== 'string' || typeof payload.exp !== 'number') {
        throw new Error('missing claims');
      }
      const claims: AccessClaims = { userId: payload.sub, username: payload.username, expiresAt: payload.exp };
      if (typeof payload.sid === 'string') claims.sessionId = payload.sid;
      return claims;
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_JWKS_TIMEOUT' || (err as Error).name === 'TypeError') {
        throw new AppError('UNAVAILABLE', 'cannot verify tokens right now', { cause: err });
      }
      throw new AppError('UNAUTHENTICATED', 'invalid or expired access token', { cause: err });
    }
  };
}

export const remoteKeys = (jwksUrl: string): JWTVerifyGetKey => createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 3_000 });
export const localKeys = (jwks: JSONWebKeySet): JWTVerifyGetKey => createLocalJWKSet(jwks);

/** `Authorization: Bearer <token>` → the token, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? m[1]! : null;
}

export type PrivateKey = Parameters<SignJWT["sign"]>[0];

export async function signAccessToken(key: PrivateKey, kid: string, claims: { userId: string; username: string; sessionId?: string }, ttlSeconds: number): Promise<string> {
  return new SignJWT({ username: claims.username, ...(claims.sessionId ? { sid: claims.sessionId } : {}) })
    .setProtectedHeader({ alg: TOKEN_ALG, kid })
    .setSubject(claims.userId)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key);
}

/** An in-memory issuer for tests of services that only verify tokens. */
export async function createTestIssuer() {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: 'Ed25519', extractable: true });
  const kid = 'test-key';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALG, use: 'sig' };
  const jwks: JSONWebKeySet = { keys: [jwk] };
  return {
    jwks,
    verifier: createVerifier(localKeys(jwks)),
    sign: (userId: string, username = 'user', ttlSeconds = 900, sessionId?: string) => signAccessToken(privateKey, kid, { userId, username, sessionId }, ttlSeconds),
  };
}
