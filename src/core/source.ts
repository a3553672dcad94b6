/**
 * Source files the user wrote (kiwibox.yaml, config.kiwi), kept in memory so a Location can be
 * turned into line:col and a source line for printing.
 */
import { readFileSync } from 'node:fs';

export interface LineCol {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters. */
  readonly col: number;
}

const texts = new Map<string, string>();

/** Registers the text of a file read elsewhere, so diagnostics print what was parsed. */
export function rememberSource(file: string, text: string): void {
  texts.set(file, text);
}

/** The text of a file as parsed, or as on disk now (undefined if unreadable). */
export function sourceText(file: string): string | undefined {
  const known = texts.get(file);
  if (known !== undefined) return known;
  try {
    const text = readFileSync(file, 'utf8');
    texts.set(file, text);
    return text;
  } catch {
    return undefined;
  }
}

/** Line and column of an offset in a text. */
export function lineColOf(text: string, offset: number): LineCol {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: end - lineStart + 1 };
}

/** The full text of line `line` (1-based), without its newline. */
export function lineText(text: string, line: number): string {
  return text.split('\n')[line - 1]?.replace(/\r$/, '') ?? '';
}
