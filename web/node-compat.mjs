// SvelteKit 3 targets Node >= 22.17; the repository runs on Node 20 (engines >=20.19). Its build
// only misses Promise.withResolvers (prerender queue), so provide it for the build and its workers.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
