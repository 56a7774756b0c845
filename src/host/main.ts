/**
 * The old entry point (`node --import tsx src/host/main.ts …`): the same as `dirql up …`
 * (src/cli/up.ts), which the image and docker-compose.yml now run as `node bin/dirql.mjs up`.
 */
import { main } from '../cli/main.ts';

await main(['up', ...process.argv.slice(2)]);
