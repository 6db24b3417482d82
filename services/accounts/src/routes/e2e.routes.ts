import type { FastifyPluginAsync } from 'fastify';
import type { Verifier } from '@chat/auth';
import type { Deps } from '../deps';
import { authenticate } from '../auth/authenticate';
import { e2eAccess } from './e2e/e2e.access';
import { commitRoutes } from './e2e/commits.routes';
import { deviceRoutes } from './e2e/devices.routes';
import { groupRoutes } from './e2e/groups.routes';
import { welcomeRoutes } from './e2e/welcomes.routes';

export { E2E_CIPHERSUITE, e2eLimits } from './e2e/e2e.schemas';

/**
 * End-to-end encryption with MLS (RFC 9420): key packages, the order of each group's commits and the
 * devices' welcome mailboxes. The server stores and hands out opaque bytes; it never sees a group
 * secret, a private key or a message's plaintext, and logs none of the bodies (http-kit logs no bodies).
 * Every route needs a signed-in user (the hook below holds for the plugins registered after it).
 */
export const e2eRoutes =
  (ctx: Deps, verify: Verifier): FastifyPluginAsync =>
  async (app) => {
    app.addHook('onRequest', authenticate(verify));
    const access = e2eAccess(ctx);
    await app.register(deviceRoutes(ctx, access));
    await app.register(groupRoutes(ctx, access));
    await app.register(commitRoutes(ctx, access));
    await app.register(welcomeRoutes(ctx, access));
  };
