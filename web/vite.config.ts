import { defineConfig } from 'vite';
import { sveltekit } from '@sveltejs/kit/vite';
import adapter from '@sveltejs/adapter-static';

// The gateway (8080) serves `build/` with an SPA fallback; in development vite proxies the API and
// the socket to it so the browser still sees one origin.
const gateway = process.env.CHAT_GATEWAY_URL ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    }),
  ],
  server: {
    port: 5173,
    proxy: {
      '/api': { target: gateway, changeOrigin: true },
      '/socket.io': { target: gateway, changeOrigin: true, ws: true },
    },
  },
});
