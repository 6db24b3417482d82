import { linkify } from './links';

describe('linkify', () => {
  it('turns http(s) URLs into links and leaves the rest as text', () => {
    expect(linkify('see https://example.org/a?b=1 now')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
      { kind: 'text', text: ' now' },
    ]);
    expect(linkify('http://x.test')).toEqual([{ kind: 'link', text: 'http://x.test', href: 'http://x.test/' }]);
  });

  it('never links other schemes or markup', () => {
    expect(linkify('javascript:alert(1) data:text/html,x ftp://a.b <a href="https://e.org">')).toEqual([
      { kind: 'text', text: 'javascript:alert(1) data:text/html,x ftp://a.b <a href="' },
      { kind: 'link', text: 'https://e.org', href: 'https://e.org/' },
      { kind: 'text', text: '">' },
    ]);
  });

  it('leaves sentence punctuation and an unmatched bracket outside the link', () => {
    expect(linkify('(look: https://e.org/x).').map((p) => p.text)).toEqual(['(look: ', 'https://e.org/x', ').']);
    expect(linkify('https://en.wikipedia.org/wiki/Foo_(bar)!').map((p) => p.text)).toEqual([
      'https://en.wikipedia.org/wiki/Foo_(bar)',
      '!',
    ]);
  });

  it('gives plain text back whole', () => {
    expect(linkify('just words')).toEqual([{ kind: 'text', text: 'just words' }]);
    expect(linkify('')).toEqual([]);
  });
});
