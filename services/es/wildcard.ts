// Wildcard patterns (`*` any run of characters, `?` one character, `\` escapes the next) matched without building a
// regular expression: a pattern may be thousands of characters long (a user's search text between `*…*`), which a
// RegExp engine can refuse ("Stack overflow") or take exponential time on.

type Token = { star: true } | { star: false; any: boolean; ch: string };

function tokens(pattern: string): Token[] {
  const out: Token[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '\\' && i + 1 < chars.length) out.push({ star: false, any: false, ch: chars[++i] });
    else if (c === '*') {
      if (!out.length || !out[out.length - 1].star) out.push({ star: true });
    } else if (c === '?') out.push({ star: false, any: true, ch: '' });
    else out.push({ star: false, any: false, ch: c });
  }
  return out;
}

/** A matcher of whole values against a wildcard pattern. */
export function wildcardMatcher(pattern: string, caseInsensitive: boolean): (value: string) => boolean {
  const fold = (s: string) => (caseInsensitive ? s.toLowerCase() : s);
  const toks = tokens(pattern).map((t) => (t.star || t.any ? t : { ...t, ch: fold(t.ch) }));
  if (!toks.some((t) => !t.star && t.any)) {
    // No `?`: literal segments between stars, found in order (linear).
    const segments: string[] = [''];
    for (const t of toks) {
      if (t.star) segments.push('');
      else segments[segments.length - 1] += t.ch;
    }
    const anchoredStart = !toks[0]?.star;
    const anchoredEnd = toks.length === 0 || !toks[toks.length - 1].star;
    return (raw) => {
      const value = fold(raw);
      if (segments.length === 1) return value === segments[0];
      const first = segments[0];
      const last = segments[segments.length - 1];
      if (anchoredStart && !value.startsWith(first)) return false;
      if (anchoredEnd && !value.endsWith(last)) return false;
      let pos = first.length;
      const end = value.length - last.length;
      if (pos > end) return false;
      for (let i = 1; i < segments.length - 1; i++) {
        const at = value.indexOf(segments[i], pos);
        if (at < 0 || at + segments[i].length > end) return false;
        pos = at + segments[i].length;
      }
      return true;
    };
  }
  // With `?`: the classic two-pointer match with backtracking to the last star, over code points.
  return (raw) => {
    const value = Array.from(fold(raw));
    let p = 0;
    let v = 0;
    let starP = -1;
    let starV = 0;
    while (v < value.length) {
      const t = toks[p];
      if (t && !t.star && (t.any || t.ch === value[v])) {
        p++;
        v++;
      } else if (t?.star) {
        starP = p++;
        starV = v;
      } else if (starP >= 0) {
        p = starP + 1;
        v = ++starV;
      } else return false;
    }
    while (p < toks.length && toks[p].star) p++;
    return p === toks.length;
  };
}
