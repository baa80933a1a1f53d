// Runs startFastCopy in a child process, printing its events as NDJSON on
// stdout, so a test can SIGKILL it mid-copy like a crashed pgshift.
// argv: <config file> <database> <jobs> <splitBytes>
import { loadConfig } from '../../src/config/config.js';
import { startFastCopy } from '../../src/steps/fast-copy.js';

const [file, database, jobs, splitBytes] = process.argv.slice(2);
// node --test runs every .js file under a test/ directory; without arguments
// this is that run, and there is nothing to do.
if (file && database) {
  const config = loadConfig(file);
  await startFastCopy(config, database, {
    jobs: Number(jobs),
    splitBytes: Number(splitBytes),
    emit: (e) => process.stdout.write(JSON.stringify(e) + '\n'),
  });
  process.stdout.write('{"type":"finished"}\n');
}
