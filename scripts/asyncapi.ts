/**
 * Writes docs/asyncapi.json, the socket contract generated from packages/contracts' zod schemas:
 *   npm run asyncapi
 * packages/contracts/src/asyncapi.test.ts fails while the checked-in file differs from the output.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asyncApiJson } from '../packages/contracts/src/asyncapi-file';

const out = join(__dirname, '..', 'docs', 'asyncapi.json');
writeFileSync(out, asyncApiJson());
process.stdout.write(`wrote ${out}\n`);
