export default async function globalTeardown(): Promise<void> {
  const infra = (globalThis as { __chatInfra?: { stop: () => Promise<void> } }).__chatInfra;
  await infra?.stop();
}
