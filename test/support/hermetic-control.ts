/**
 * Vitest setup file: every test file gets its own control directory (DIRQL_CONTROL_DIR), so hosts
 * it starts, the clients it connects and the CLIs it spawns never see the machine's default one —
 * whatever stale sockets, `current` links or other hosts it holds (scripts/hermetic-check.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { CONTROL_DIR_ENV } from '../../src/control/socket-path.ts';

const parent = mkdtempSync(join(tmpdir(), 'dirql-test-ctl-'));
process.env[CONTROL_DIR_ENV] = join(parent, 'dirql');
delete process.env.DIRQL_CONTROL_SOCKET;

afterAll(() => rmSync(parent, { recursive: true, force: true }));
