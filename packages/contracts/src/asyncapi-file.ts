import { buildAsyncApi } from './asyncapi';

/** The API's version (docs/changelog.md): bump it with every entry there. */
export const API_VERSION = '1.3.0';

/** Keys sorted at every depth, so a regenerated file only differs where the contract changed. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The exact text of docs/asyncapi.json. */
export const asyncApiJson = (): string =>
  `${JSON.stringify(sortKeys(buildAsyncApi({ version: API_VERSION })), null, 2)}\n`;
