// init against real clusters: identities written, databases listed,
// passwords never written, existing files and same-cluster refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Pair, runCli } from '../helpers/harness.js';
import { loadConfig } from '../../src/config/config.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(14, 18);
});
after(async () => {
  await pair?.stop();
});

test('init writes a config with both identities and the source databases, and no password', async () => {
  const db = await pair.freshDatabase('app');
  const out = join(pair.dir, 'init.yml');
  const src = pair.source.uri();
  const tgt = pair.target.uri();
  const r = await runCli(['init', '--source', src, '--target', tgt, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(out, 'utf8');
  assert.ok(!text.includes(pair.source.password), 'password written to the config');
  assert.ok(!r.stderr.includes(pair.source.password), 'password printed');
  const cfg = loadConfig(out, pair.env());
  assert.equal(cfg.source.systemIdentifier, await pair.source.systemIdentifier());
  assert.equal(cfg.target.systemIdentifier, await pair.target.systemIdentifier());
  assert.ok(cfg.databases.has(db));
  assert.equal(cfg.source.password, pair.source.password);

  const again = await runCli(['init', '--source', src, '--target', tgt, '-o', out]);
  assert.equal(again.code, 3);
  assert.match(again.stderr, /already exists.*\n.*--force/);
});

test('init refuses when source and target are the same cluster', async () => {
  const out = join(pair.dir, 'same.yml');
  const r = await runCli(['init', '--source', pair.source.uri(), '--target', pair.source.uri(), '-o', out]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /same system_identifier/);
  assert.ok(!existsSync(out));
});

test('init: wrong password and unreachable host are clear errors with no file written', async () => {
  const out = join(pair.dir, 'bad.yml');
  const bad = await runCli(['init', '--source', pair.source.uri('postgres', 'postgres', "wr'ong \\@%"), '--target', pair.target.uri(), '-o', out]);
  assert.equal(bad.code, 4, bad.stderr);
  assert.match(bad.stderr, /source .*password authentication failed/);
  assert.ok(!bad.stderr.includes("wr'ong"));
  const down = await runCli(['init', '--source', 'host=127.0.0.1 port=1 user=postgres connect_timeout=3', '--target', pair.target.uri(), '-o', out]);
  assert.equal(down.code, 4, down.stderr);
  assert.match(down.stderr, /source .*cannot connect: ECONNREFUSED/);
  assert.ok(!existsSync(out));
});

test('exec runs a command with verified connection variables, and refuses a wrong cluster', async () => {
  const cfg = await pair.writeConfig([]);
  const marker = join(pair.dir, 'exec-ran');
  const script = `printf '%s %s' "$PGSHIFT_SOURCE_PORT" "$PGSHIFT_TARGET_SYSTEM_IDENTIFIER" > '${marker}'; exit 7`;
  const r = await runCli(['-c', cfg, 'exec', '--', 'sh', '-c', script], { env: pair.env() });
  assert.equal(r.code, 7, r.stderr);
  assert.equal(readFileSync(marker, 'utf8'), `${pair.source.port} ${await pair.target.systemIdentifier()}`);

  const wrong = join(pair.dir, 'wrong.yml');
  const text = readFileSync(cfg, 'utf8').replace(/system_identifier: "(\d+)"/, 'system_identifier: "1234567890"');
  (await import('node:fs')).writeFileSync(wrong, text);
  const marker2 = join(pair.dir, 'exec-ran-2');
  const refused = await runCli(['-c', wrong, 'exec', '--', 'touch', marker2], { env: pair.env() });
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, /source .* is not the configured cluster: expected system_identifier 1234567890, found \d+/);
  assert.ok(!existsSync(marker2), 'the command ran against the wrong cluster');
});
