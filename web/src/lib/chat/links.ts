/** A piece of message text: plain text, or an http(s) link to render as an anchor. */
export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

// http(s) only: any other scheme (javascript:, data:, ...) stays text.
const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
/** Punctuation that ends a sentence rather than the URL ("see https://x.org." or "(https://x.org)"). */
const TRAILING = /[.,;:!?'"\])}>]+$/;

/** Splits text into text and link parts; only well-formed http(s) URLs become links. */
export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0];
    const trail = url.match(TRAILING)?.[0] ?? '';
    // Keep a closing bracket that has its opening one inside the URL (Wikipedia-style links).
    let keep = trail;
    if (trail.startsWith(')') && url.slice(0, -trail.length).includes('(')) keep = trail.slice(1);
    url = url.slice(0, url.length - keep.length);
    const start = match.index ?? 0;
    let href: string | null = null;
    try {
      const u = new URL(url);
      if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
    } catch {
      href = null;
    }
    if (!href) continue;
    if (start > at) parts.push({ kind: 'text', text: text.slice(at, start) });
    parts.push({ kind: 'link', text: url, href });
    at = start + url.length;
  }
  if (at < text.length) parts.push({ kind: 'text', text: text.slice(at) });
  return parts;
}
