import {
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError, isApiToken } from '@chat/contracts';
import { remoteApiTokens, type RemoteApiTokensOptions } from './api-tokens';

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
  /** Set for a bot's API token: what it may do ('read': GET and socket events in; 'write': the rest). */
  scopes?: string[];
  /** Set for a bot's API token: its id (sockets re-check it, so a revoked token is cut off). */
  tokenId?: string;
}

/** Resolves a bot's API token (`cbt_...`) to its claims; throws UNAUTHENTICATED when unknown or revoked. */
export type ApiTokenResolver = (token: string) => Promise<AccessClaims>;

export type Verifier = (token: string) => Promise<AccessClaims>;

/** Verifies against the issuer's JWKS, fetched once and refreshed on an unknown key id (cached by jose). */
export function createVerifier(keys: JWTVerifyGetKey, apiTokens?: ApiTokenResolver): Verifier {
  return async (token) => {
    if (isApiToken(token)) {
      if (!apiTokens) throw new AppError('UNAUTHENTICATED', 'API tokens are not accepted here');
      return apiTokens(token);
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: [TOKEN_ALG],
      });
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

/** Far enough to mean "never" for a token without an expiry, small enough for a timer's arithmetic. */
export const NEVER_EXPIRES = 253402300799; // 9999-12-31T23:59:59Z

/** May these claims do `what`? Access tokens of people may do everything; API tokens what their scopes say. */
export function hasScope(claims: AccessClaims, what: 'read' | 'write'): boolean {
  return !claims.scopes || claims.scopes.includes(what);
}

/** Throws FORBIDDEN for an API token without the scope an HTTP method needs (GET/HEAD: read, others: write). */
export function requireScopeForMethod(claims: AccessClaims, method: string): void {
  const need = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
  if (!hasScope(claims, need)) throw new AppError('FORBIDDEN', `this API token lacks the '${need}' scope`);
}

export { remoteApiTokens } from './api-tokens';

export const remoteKeys = (jwksUrl: string): JWTVerifyGetKey =>
  createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 3_000 });
export const localKeys = (jwks: JSONWebKeySet): JWTVerifyGetKey => createLocalJWKSet(jwks);

/**
 * How a service other than accounts verifies: access tokens against accounts' JWKS (`jwksUrl`), bot
 * API tokens by asking accounts (`remoteApiTokens`: `accountsUrl`, the internal `headers`, the cache).
 */
export const accountsVerifier = (opts: RemoteApiTokensOptions & { jwksUrl: string }): Verifier =>
  createVerifier(remoteKeys(opts.jwksUrl), remoteApiTokens(opts));

/** `Authorization: Bearer <token>` → the token, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? m[1]! : null;
}

export type PrivateKey = Parameters<SignJWT['sign']>[0];

export async function signAccessToken(
  key: PrivateKey,
  kid: string,
  claims: { userId: string; username: string; sessionId?: string },
  ttlSeconds: number,
): Promise<string> {
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
    sign: (userId: string, username = 'user', ttlSeconds = 900, sessionId?: string) =>
      signAccessToken(privateKey, kid, { userId, username, sessionId }, ttlSeconds),
  };
}
