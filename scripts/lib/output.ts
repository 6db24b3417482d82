/** Readable, prefixed output for every process the dev runner starts. */
const useColour = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);

export const colours = {
  red: paint(31),
  green: paint(32),
  yellow: paint(33),
  blue: paint(34),
  magenta: paint(35),
  cyan: paint(36),
  grey: paint(90),
  bold: paint(1),
};

const palette = [colours.cyan, colours.magenta, colours.blue, colours.green, colours.yellow];
const assigned = new Map<string, (s: string) => string>();
const WIDTH = 13;

function prefix(name: string): string {
  let c = assigned.get(name);
  if (!c) {
    c = name === 'dev' ? colours.bold : (palette[assigned.size % palette.length] ?? colours.cyan);
    assigned.set(name, c);
  }
  return c(`[${name}]`.padEnd(WIDTH));
}

const LEVELS: Record<number, [string, (s: string) => string]> = {
  10: ['TRACE', colours.grey],
  20: ['DEBUG', colours.grey],
  30: ['INFO ', colours.green],
  40: ['WARN ', colours.yellow],
  50: ['ERROR', colours.red],
  60: ['FATAL', colours.red],
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'service', 'name', 'v']);

/** Turns one pino JSON line into `INFO  message key=value ...`; anything else is shown as it is. */
export function formatLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof rec.level !== 'number') return line;
  const [label, colour] = LEVELS[rec.level] ?? ['LOG  ', colours.grey];
  const extras = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => {
      if (k === 'err' && v && typeof v === 'object') {
        const e = v as { message?: string; stack?: string };
        return `err=${JSON.stringify(e.message)}${(rec.level as number) >= 50 && e.stack ? `\n${e.stack}` : ''}`;
      }
      return `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    })
    .join(' ');
  return `${colour(label)} ${typeof rec.msg === 'string' ? rec.msg : JSON.stringify(rec.msg ?? '')}${extras ? ` ${colours.grey(extras)}` : ''}`;
}

export function say(name: string, text: string): void {
  for (const line of text.split('\n')) process.stdout.write(`${prefix(name)} ${line}\n`);
}

export const info = (text: string) => say('dev', text);
export const warn = (text: string) => say('dev', colours.yellow(text));
export const fail = (text: string) => say('dev', colours.red(text));

/** Line-buffers a stream and prints each line with the process's prefix. */
export function pipeLines(name: string, stream: NodeJS.ReadableStream | null | undefined): void {
  if (!stream) return;
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) say(name, formatLine(line));
    }
  });
  stream.on('end', () => {
    if (buf.trim()) say(name, formatLine(buf));
  });
}
