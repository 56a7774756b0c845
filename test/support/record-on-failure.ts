import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFailed, onTestFinished } from 'vitest';
import { DEFAULT_OUTPUT_DIR } from '../../src/util/output-dir.ts';

/** Where `DIRQL_RECORD=on-failure` keeps the recordings of failed tests (DIRQL_OUTPUT_DIR or ./dirql-out, ignored by git). */
export const FAILED_RECORDINGS_DIR = join(process.env.DIRQL_OUTPUT_DIR || join(process.cwd(), DEFAULT_OUTPUT_DIR), 'recordings');

/**
 * With `DIRQL_RECORD=on-failure`, a recording path for the current test (pass it as
 * DriverHost's `record`): kept, and its path printed, if the test fails; removed if it passes.
 * Otherwise undefined: nothing is recorded. Call it inside a test.
 */
export function recordOnFailure(name: string, mode = process.env.DIRQL_RECORD): string | undefined {
  if (mode !== 'on-failure') return undefined;
  mkdirSync(FAILED_RECORDINGS_DIR, { recursive: true });
  const file = join(FAILED_RECORDINGS_DIR, `${name.replace(/[^\w.-]+/g, '-')}-${process.pid}-${Date.now()}.rec`);
  let failed = false;
  onTestFailed(() => {
    failed = true;
  });
  // onTestFinished runs before onTestFailed: the task's own state says whether it failed.
  onTestFinished(({ task }) => {
    if (!failed && task.result?.state !== 'fail') rmSync(file, { force: true });
    else if (existsSync(file)) console.error(`recording of the failed test: ${file}`);
  });
  return file;
}
