/**
 * The reason catalogue: docs/reasons.md is generated from it and in sync, and codes are kebab-case
 * and unique across groups.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REASONS } from '../../src/core/reasons.js';
import { ROOT } from '../support/project.js';

describe('failure reasons', () => {
  it('docs/reasons.md matches the catalogue (scripts/reasons-doc.mjs --check)', () => {
    expect(() =>
      execFileSync(process.execPath, ['scripts/reasons-doc.mjs', '--check'], { cwd: ROOT, stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('are kebab-case, described, and each in one group only', () => {
    const codes = Object.values(REASONS).flatMap((group) => Object.entries(group));
    for (const [code, meaning] of codes) {
      expect(code).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(meaning.length).toBeGreaterThan(5);
    }
    const names = codes.map(([code]) => code);
    expect(new Set(names).size).toBe(names.length);
  });
});
