// The `standard` analyzer, approximated: Unicode letters and digits make words, everything else separates them, words
// are lowercased, and each CJK ideograph (or kana) is a word of its own, as Lucene's StandardTokenizer emits them.

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const CJK_ALL =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[^\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+/gu;
const MAX_TOKEN_LENGTH = 255;

export function analyze(text: string): string[] {
  const tokens: string[] = [];
  for (const m of text.matchAll(WORD)) {
    const word = m[0].toLowerCase();
    if (CJK.test(word)) {
      for (const part of word.match(CJK_ALL) ?? []) tokens.push(part);
    } else if (word.length > MAX_TOKEN_LENGTH) {
      for (let i = 0; i < word.length; i += MAX_TOKEN_LENGTH) tokens.push(word.slice(i, i + MAX_TOKEN_LENGTH));
    } else {
      tokens.push(word);
    }
  }
  return tokens;
}
