#!/usr/bin/env node
// The `dirql` command (package.json "bin"): registers tsx in this process, then runs the TypeScript
// entry. In process, not a child: signals, exit codes and `--inspect` stay with one process.
// Plain JS because it runs before anything can compile TypeScript.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
