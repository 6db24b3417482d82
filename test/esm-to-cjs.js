/**
 * Jest (CJS) cannot require the few ESM-only packages in the dependency tree (content-disposition 3,
 * pulled by @fastify/static under @fastify/swagger-ui); Node itself can (require(esm)). This transform
 * compiles just those files to CJS with esbuild (already installed through tsx).
 */
const { transformSync } = require('esbuild');

module.exports = {
  process(src, filename) {
    const { code, map } = transformSync(src, { format: 'cjs', loader: 'js', target: 'node20', sourcefile: filename, sourcemap: 'inline' });
    return { code, map };
  },
};
