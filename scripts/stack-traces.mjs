// Stack traces through a bundle's source map, read when a trace is first formatted (scripts/start.mjs). Node's own
// source map support (--enable-source-maps, process.setSourceMapsEnabled) reads and indexes the map of every module
// as it is compiled: for npm start's bundles, ~15 MB of maps and 0.15–0.3 s of CPU per thread at every start
// (issue 19 §4), for traces that are mostly never printed.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Maps frames in files under `dir` (file paths or file: URLs) to their sources, by each file's `.map` beside it. */
export function mapStackTraces(dir) {
  const maps = new Map();
  const mapOf = (file) => {
    if (!maps.has(file)) {
      let map;
      try {
        if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        // No usable map: the bundle's own positions.
      }
      maps.set(file, map);
    }
    return maps.get(file);
  };
  const located = (site) => {
    const name = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (!name || !line || !column) return undefined;
    const file = name.startsWith('file:') ? fileURLToPath(name) : name;
    if (!file.startsWith(dir)) return undefined;
    const origin = mapOf(file)?.findOrigin(line, column);
    if (!origin?.fileName) return undefined;
    // A map names its sources relative to itself.
    const source = origin.fileName.startsWith('file:')
      ? fileURLToPath(origin.fileName)
      : resolve(dirname(file), origin.fileName);
    return { from: `${name}:${line}:${column}`, to: `${source}:${origin.lineNumber}:${origin.columnNumber}` };
  };
  // V8's own text for the error and each frame, with the bundle's locations replaced by the sources'.
  Error.prepareStackTrace = (error, sites) => {
    let head;
    try {
      head = Error.prototype.toString.call(error);
    } catch {
      head = '<error>';
    }
    const lines = sites.map((site) => {
      const text = site.toString();
      const at = located(site);
      return `    at ${at ? text.replace(at.from, at.to) : text}`;
    });
    return [head, ...lines].join('\n');
  };
}
