import { z } from 'zod';

/**
 * Postgres cannot store U+0000 in `text` or `jsonb`, and a lone UTF-16 surrogate is not a Unicode
 * character at all (jsonb refuses it; `text` would silently store U+FFFD). A string the server
 * accepts must be storable exactly as sent, so both are refused at the edge.
 */
// eslint-disable-next-line no-control-regex
const unstorable = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorable(s: string): boolean {
  return !unstorable.test(s);
}

export const unstorableMessage = 'must not contain U+0000 or unpaired surrogates';

/** A string Postgres stores exactly as sent. */
export const StorableString = () => z.string().refine(isStorable, { message: unstorableMessage });

/**
 * What a name shown to other people may not contain: control characters, bidirectional overrides
 * and isolates (which reorder the text around them), zero-width and invisible characters (which make
 * two different names look the same), and the byte-order mark.
 */
const deceptive =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u115F\u1160\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0\uFFF9-\uFFFB]/;

export function isDisplaySafe(s: string): boolean {
  return isStorable(s) && !deceptive.test(s);
}

export const displayUnsafeMessage = 'must not contain control, bidirectional-override or zero-width characters';
