/**
 * The old entry point (`node --import tsx src/host/main.ts …`, used by the container image and
 * docker-compose.yml): the same as `dirql up …` (src/cli/up.ts).
 */
import { main } from '../cli/main.ts';

await main(['up', ...process.argv.slice(2)]);
