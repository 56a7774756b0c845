import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordOnFailure } from '../../support/record-on-failure.ts';

describe('DIRQL_RECORD=on-failure', () => {
  let kept: string | undefined;

  it('gives no path when the mode is off', () => {
    expect(recordOnFailure('off', undefined)).toBeUndefined();
    expect(recordOnFailure('a-file', 'x.rec')).toBeUndefined();
  });

  it('gives a path a passing test leaves nothing at', () => {
    kept = recordOnFailure('passing', 'on-failure');
    expect(kept).toMatch(/passing-.*\.rec$/);
    writeFileSync(kept!, 'recording');
  });

  it('(after the passing test) its recording was removed', () => {
    expect(kept).toBeDefined();
    expect(existsSync(kept!)).toBe(false);
  });
});
