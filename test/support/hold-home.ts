// A separate process that starts the emulators on a home, holds it briefly and logs when it had
// it: `tsx hold-home.ts <home> <log> <holdMs>`. For the lock tests (one run at a time per home).
import { appendFileSync } from 'node:fs';
import { startEmulators } from '#local/emulators';

const [home, log, holdMs] = process.argv.slice(2);
const emulators = await startEmulators({ home, onWait: (message) => process.stderr.write(`${message}\n`) });
appendFileSync(log, `${process.pid} start ${Date.now()}\n`);
await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
appendFileSync(log, `${process.pid} end ${Date.now()}\n`);
await emulators.stop();
