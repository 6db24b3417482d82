/**
 * Jest (CJS) cannot require the few ESM-only packages in the dependency tree (content-disposition 3,
 * pulled by @fastify/static under @fastify/swagger-ui); Node itself can (require(esm)). Jest 30 loads them
 * natively on Node 24.9+ only with vm modules (--experimental-vm-modules), which the suite does not run
 * with, so this transform compiles just those files to CJS with esbuild (already installed through tsx).
 */
const { transformSync } = require('esbuild');

module.exports = {
  process(src, filename) {
    const { code, map } = transformSync(src, {
      format: 'cjs',
      loader: 'js',
      target: 'node24',
      sourcefile: filename,
      sourcemap: 'inline',
    });
    return { code, map };
  },
};
