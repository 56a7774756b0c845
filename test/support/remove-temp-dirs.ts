/** Vitest setup file: the process's temporary directories (test/support/temp-dirs.ts) go after each test file. */
import { afterAll } from 'vitest';
import { removeProcessTempDirs } from './temp-dirs.ts';

afterAll(removeProcessTempDirs);
