import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

// Reads the shared validation corpus in place (it is never copied into this repository).

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CORPUS_DIR = resolve(projectRoot, '..', 'shared', 'corpus', 'validation');

export interface CorpusCase {
  kind: string;
  file: string;
  expect: 'valid' | 'invalid';
  reason: string;
  object: unknown;
}

export function corpusAvailable(): boolean {
  return existsSync(join(CORPUS_DIR, 'INDEX.tsv'));
}

/** Fields of INDEX.tsv, with the spreadsheet-style quoting ("" inside "...") undone. */
function unquote(cell: string): string {
  if (cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"')) return cell.slice(1, -1).replaceAll('""', '"');
  return cell;
}

export function loadCorpus(): CorpusCase[] {
  const lines = readFileSync(join(CORPUS_DIR, 'INDEX.tsv'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const [header, ...rows] = lines;
  const columns = header.split('\t');
  return rows.map((row) => {
    const cells = row.split('\t').map(unquote);
    const get = (name: string): string => cells[columns.indexOf(name)] ?? '';
    const file = get('file');
    const text = readFileSync(join(CORPUS_DIR, file), 'utf8');
    const expect = get('expect');
    if (expect !== 'valid' && expect !== 'invalid') throw new Error(`${file}: unexpected expect ${expect}`);
    // The header comment of the case file must agree with the index.
    const headerExpect = /^# expect: (\S+)/m.exec(text)?.[1];
    if (headerExpect !== expect) throw new Error(`${file}: INDEX says ${expect}, file says ${headerExpect}`);
    return { kind: get('kind'), file, expect, reason: get('reason'), object: parse(text) as unknown };
  });
}
