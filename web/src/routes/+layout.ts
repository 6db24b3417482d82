// A client-only SPA: the gateway serves build/index.html for every path and the app talks to the
// public API from the browser, so there is nothing to render on a server.
export const ssr = false;
export const prerender = false;
