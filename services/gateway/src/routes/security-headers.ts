import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Hashes of the inline scripts of the web client's `index.html` (SvelteKit's start-up script), so the
 * Content-Security-Policy can allow exactly those and no other inline script.
 */
export function inlineScriptHashes(webDir: string): string[] {
  const index = join(resolve(webDir), 'index.html');
  if (!existsSync(index)) return [];
  const html = readFileSync(index, 'utf8');
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)) {
    hashes.push(`'sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}'`);
  }
  return hashes;
}

/**
 * The hashes, re-read when index.html changes (the web client may be rebuilt while the gateway runs),
 * looked at no more than once every two seconds.
 */
function currentHashes(webDir: string): () => string {
  let value = '';
  let mtime = -1;
  let checkedAt = 0;
  return () => {
    const now = Date.now();
    if (now - checkedAt < 2_000) return value;
    checkedAt = now;
    const index = join(resolve(webDir), 'index.html');
    const m = existsSync(index) ? statSync(index).mtimeMs : 0;
    if (m !== mtime) {
      mtime = m;
      value = inlineScriptHashes(webDir).join(' ');
    }
    return value;
  };
}

/**
 * The public origin's security headers (@fastify/helmet): a CSP allowing only this origin (and the
 * web client's own inline start-up script), no framing (`frame-ancestors 'none'`), `nosniff`, and
 * `Referrer-Policy: no-referrer`.
 */
export async function securityHeaders(app: FastifyInstance, opts: { webDir: string }): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", currentHashes(opts.webDir)],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // The origin is plain HTTP locally; HSTS belongs to the TLS terminator in front of it.
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: false,
  });
}
