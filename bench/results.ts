// What every benchmark writes next to its printed table: the machine it ran on and its results, as JSON in
// bench/results/ (git-ignored), so runs can be compared later.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

export const resultsPath = (name: string) => join(import.meta.dirname, 'results', `${name}-latest.json`);

/** One line describing the machine, for the printed report. */
export const machineLine = () => `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;

export function writeResults(path: string, body: Record<string, unknown>): void {
  mkdirSync(dirname(path), { recursive: true });
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memoryBytes: totalmem(),
    node: process.version,
    platform: process.platform,
  };
  writeFileSync(path, JSON.stringify({ date: new Date().toISOString(), machine, ...body }, null, 2) + '\n');
}
