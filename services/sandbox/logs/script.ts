// What a generic image (busybox, alpine, ubuntu…) prints when it runs a user's command: a small reading of the shell
// script in `command`/`args` (`sh -c '…'`, or `echo …` itself), so `kubectl logs` of a user's own test pod shows what
// it echoes, as on a cluster. The script is never executed: it is only read, and only these forms are understood:
// echo [-n] [-e], printf FORMAT ARGS (%s %d %%), sleep N, date, hostname, true/:, exit N, `while true|:; do …; done`
// and `for V in WORDS; do …; done`, joined by `;`, `&&`, `||` or newlines, with '…', "…" and $VAR/${VAR} expansion
// from the container's plain env. Other commands print nothing.

/** A line a script prints `atMs` after its start; `date` lines are rendered when read, with the time of the line. */
export interface ScriptLine {
  atMs: number;
  text: string;
  date?: boolean;
}

/** The lines printed once, then (for `while true`) a body printed every `loopMs` forever. */
export interface ScriptLog {
  once: ScriptLine[];
  /** `startMs`: when the loop begins; its lines' `atMs` are from the start of each iteration. */
  loop?: { startMs: number; lines: ScriptLine[]; loopMs: number };
}

const GENERIC_IMAGE =
  /(^|\/)(busybox|alpine|ubuntu|debian|bash|centos|fedora|rockylinux|almalinux|amazonlinux|archlinux)(:[^/]*|@sha256:\w+)?$/;

export function isGenericImage(image: string): boolean {
  return GENERIC_IMAGE.test(image.toLowerCase());
}

/** `$(VAR)` in command/args, as the kubelet expands it from the container's env (`$$(VAR)` stays literal). */
function expandKubeletRefs(arg: string, env: Map<string, string>): string {
  return arg.replace(/\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) =>
    name === undefined ? '$(' : (env.get(name) ?? m),
  );
}

/** The script a generic image runs for this argv, or undefined when it runs no shell script or echo we understand. */
export function scriptLogOf(
  image: string,
  command: string[] | undefined,
  args: string[] | undefined,
  env: Map<string, string>,
): ScriptLog | undefined {
  if (!isGenericImage(image)) return undefined;
  const argv = [...(command ?? []), ...(args ?? [])].map((a) => expandKubeletRefs(String(a), env));
  if (!argv.length) return undefined;
  const prog = argv[0].split('/').pop() ?? '';
  let source: string;
  if (['sh', 'ash', 'bash', 'dash'].includes(prog)) {
    const c = argv.indexOf('-c');
    if (c < 0 || c + 1 >= argv.length) return undefined;
    source = argv[c + 1];
  } else if (prog === 'echo' || prog === 'printf') {
    source = argv.map(shellQuote).join(' ');
  } else return undefined;
  const run = new Runner(env);
  run.block(parse(tokenize(source)), 0);
  run.flush();
  return run.result();
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// ------------------------------------------------------------------ tokens

type Token = { op: string } | { word: Part[] };
/** A word is parts: literal text, or a variable to expand (quoted or not, which only matters for splitting). */
type Part = { text: string } | { variable: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let word: Part[] | undefined;
  const lit = (s: string) => {
    word ??= [];
    word.push({ text: s });
  };
  const end = () => {
    if (word) out.push({ word });
    word = undefined;
  };
  const variable = (): boolean => {
    const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*|[0-9?#$]))/.exec(src.slice(i));
    if (!m) return false;
    word ??= [];
    word.push({ variable: m[1] ?? m[2] });
    i += m[0].length;
    return true;
  };
  while (i < src.length) {
    const ch = src[i];
    if (ch === '#' && !word) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (ch === ' ' || ch === '\t') {
      end();
      i++;
    } else if (ch === '\n' || ch === ';') {
      end();
      out.push({ op: ';' });
      i++;
    } else if (ch === '&' || ch === '|') {
      end();
      const two = src.slice(i, i + 2);
      out.push({ op: two === '&&' || two === '||' ? two : ch === '&' ? ';' : '|' });
      i += two === '&&' || two === '||' ? 2 : 1;
    } else if (ch === "'") {
      const close = src.indexOf("'", i + 1);
      lit(src.slice(i + 1, close < 0 ? src.length : close));
      i = close < 0 ? src.length : close + 1;
    } else if (ch === '"') {
      i++;
      word ??= [];
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length && '"\\$`'.includes(src[i + 1])) {
          lit(src[i + 1]);
          i += 2;
        } else if (src[i] === '$' && variable()) continue;
        else lit(src[i++]);
      }
      i++;
    } else if (ch === '\\' && i + 1 < src.length) {
      if (src[i + 1] !== '\n') lit(src[i + 1]);
      i += 2;
    } else if (ch === '$' && variable()) continue;
    else lit(src[i++]);
  }
  end();
  return out;
}

// ------------------------------------------------------------------ syntax

type Node =
  | { kind: 'cmd'; words: Part[][]; joiner: string }
  | { kind: 'while'; body: Node[]; joiner: string }
  | { kind: 'for'; variable: string; items: Part[][]; body: Node[]; joiner: string };

const plain = (w: Part[]) => w.map((p) => ('text' in p ? p.text : `$${p.variable}`)).join('');

function parse(tokens: Token[]): Node[] {
  let pos = 0;
  const peekWord = () => {
    const t = tokens[pos];
    return t && 'word' in t ? plain(t.word) : undefined;
  };
  const skipSeparators = () => {
    while (pos < tokens.length && 'op' in tokens[pos] && (tokens[pos] as { op: string }).op === ';') pos++;
  };
  const list = (until: string[]): Node[] => {
    const nodes: Node[] = [];
    for (;;) {
      skipSeparators();
      const w = peekWord();
      if (pos >= tokens.length || (w !== undefined && until.includes(w))) return nodes;
      nodes.push(command());
    }
  };
  const joinerAfter = (): string => {
    const t = tokens[pos];
    if (t && 'op' in t) {
      pos++;
      return t.op;
    }
    return ';';
  };
  const command = (): Node => {
    const w = peekWord();
    if (w === 'while' || w === 'until') {
      pos++;
      list(['do']); // the condition: loops are read as endless (`while true`, `while :`)
      pos++;
      const body = list(['done']);
      pos++;
      return { kind: 'while', body, joiner: joinerAfter() };
    }
    if (w === 'for') {
      pos++;
      const variable = peekWord() ?? '_';
      pos++;
      const items: Part[][] = [];
      if (peekWord() === 'in') {
        pos++;
        while (pos < tokens.length && 'word' in tokens[pos]) items.push((tokens[pos++] as { word: Part[] }).word);
      }
      list(['do']);
      pos++;
      const body = list(['done']);
      pos++;
      return { kind: 'for', variable, items, body, joiner: joinerAfter() };
    }
    const words: Part[][] = [];
    while (pos < tokens.length && 'word' in tokens[pos]) words.push((tokens[pos++] as { word: Part[] }).word);
    return { kind: 'cmd', words, joiner: joinerAfter() };
  };
  return list([]);
}

// ------------------------------------------------------------------ reading

/** Loops print at most this many times before the rest is taken as repeating (or cut off, for `for`). */
const MAX_ITERATIONS = 1000;

class Runner {
  private lines: ScriptLine[] = [];
  private pending = '';
  private pendingDate = false;
  private clock = 0;
  private stopped = false;
  private loop?: ScriptLog['loop'];
  private readonly vars: Map<string, string>;

  constructor(env: Map<string, string>) {
    this.vars = new Map(env);
  }

  result(): ScriptLog {
    return { once: this.lines, ...(this.loop ? { loop: this.loop } : {}) };
  }

  flush(): void {
    if (this.pending || this.pendingDate) this.emit('');
  }

  /** Runs nodes; `depth` > 0 inside a loop body. */
  block(nodes: Node[], depth: number): void {
    let skipNext = false;
    for (const node of nodes) {
      if (this.stopped) return;
      if (!skipNext) this.node(node, depth);
      // echo and friends succeed: `a || b` never runs b, `a && b` always does.
      skipNext = node.joiner === '||';
    }
  }

  private node(node: Node, depth: number): void {
    if (node.kind === 'cmd') return this.command(node.words.map((w) => this.expand(w)));
    if (node.kind === 'for') {
      const items = node.items.flatMap((w) => this.expand(w).split(/\s+/).filter(Boolean));
      for (const item of items.slice(0, MAX_ITERATIONS)) {
        this.vars.set(node.variable, item);
        this.block(node.body, depth + 1);
      }
      return;
    }
    // An endless loop at the top: print its body once to learn its lines and period, then it repeats forever.
    if (depth === 0) {
      this.flush();
      const before = this.lines.length;
      const startedAt = this.clock;
      this.block(node.body, depth + 1);
      this.flush();
      const lines = this.lines.splice(before).map((l) => ({ ...l, atMs: l.atMs - startedAt }));
      const loopMs = Math.max(1000, this.clock - startedAt);
      if (!this.stopped) {
        this.loop = { startMs: startedAt, lines, loopMs };
        this.stopped = true;
      } else this.lines.push(...lines.map((l) => ({ ...l, atMs: l.atMs + startedAt })));
      return;
    }
    for (let i = 0; i < 3 && !this.stopped; i++) this.block(node.body, depth + 1);
  }

  private expand(word: Part[]): string {
    return word.map((p) => ('text' in p ? p.text : (this.vars.get(p.variable) ?? ''))).join('');
  }

  private command(argv: string[]): void {
    const [prog, ...rest] = argv;
    switch (prog) {
      case undefined:
      case 'true':
      case ':':
        return;
      case 'echo': {
        let newline = true;
        let escapes = false;
        while (rest.length && /^-[neE]+$/.test(rest[0])) {
          const flag = rest.shift()!;
          if (flag.includes('n')) newline = false;
          if (flag.includes('e')) escapes = true;
        }
        const text = rest.join(' ');
        return this.print((escapes ? unescape(text) : text) + (newline ? '\n' : ''));
      }
      case 'printf': {
        const [fmt = '', ...values] = rest;
        return this.print(printf(fmt, values));
      }
      case 'sleep': {
        const seconds = Number(String(rest[0] ?? '0').replace(/s$/, ''));
        if (!Number.isFinite(seconds))
          this.stopped = true; // sleep infinity
        else this.clock += Math.max(0, seconds) * 1000;
        return;
      }
      case 'date':
        this.pendingDate = true;
        return this.emit('');
      case 'hostname':
        return this.print(`${this.vars.get('HOSTNAME') ?? ''}\n`);
      case 'exit':
        this.stopped = true;
        return;
      default:
        return;
    }
  }

  private print(text: string): void {
    const parts = text.split('\n');
    for (let i = 0; i < parts.length - 1; i++) this.emit(parts[i]);
    this.pending += parts[parts.length - 1];
  }

  private emit(text: string): void {
    const line: ScriptLine = { atMs: this.clock, text: this.pending + text };
    if (this.pendingDate) line.date = true;
    this.lines.push(line);
    this.pending = '';
    this.pendingDate = false;
  }
}

function unescape(s: string): string {
  return s.replace(/\\([ntr\\])/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);
}

function printf(fmt: string, values: string[]): string {
  let i = 0;
  return unescape(fmt).replace(/%([%sd])/g, (_m, c: string) => {
    if (c === '%') return '%';
    const v = values[i++] ?? '';
    return c === 'd' ? String(Number.parseInt(v, 10) || 0) : v;
  });
}
