import { writeFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { DB_ARG, flagString, oneDatabase } from '../command.js';
import { EXIT, ProblemError, UsageError } from '../../errors.js';
import { databaseConfig } from '../../config/config.js';
import { journalFile } from '../../journal/journal.js';
import { readJournal } from '../../journal/read.js';
import { buildReport, formatForFile, renderReport } from '../../report/index.js';

export const command: Command = {
  name: 'report',
  usage: 'report DB [-o FILE.md|FILE.html]',
  summary: 'the rehearsal report, from the journal every command keeps for DB',
  args: [DB_ARG],
  flags: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write the report here: Markdown for .md, one self-contained file for .html', default: 'Markdown on stdout' },
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'report');
    const output = flagString(ctx, 'output');
    const format = output === undefined ? 'markdown' : formatForFile(output);
    if (!format) throw new UsageError(`-o ${output}: the report is Markdown (.md) or HTML (.html); the file name says which`);
    databaseConfig(ctx.config(), database);
    const file = journalFile(ctx.configPath, database);
    const journal = readJournal(file);
    if (!journal || journal.records.length === 0) {
      throw new ProblemError('no_journal', `no journal for "${database}" at ${file}`, {
        hint: `Every pgshift command on ${database} appends to it (check, run, wait, verify, switchover, ...); it lives beside the config, so use the same -c file as those commands.`,
      });
    }
    const model = buildReport(database, journal.records, { damaged: journal.damaged, source: file });
    const text = renderReport(model, format);
    if (ctx.json) {
      if (output) writeFileSync(output, text);
      ctx.out.writeJson({ ok: true, database, journal: file, records: journal.records.length, damaged: journal.damaged, ...(output ? { output, format } : {}), report: model });
      return EXIT.ok;
    }
    if (output === undefined) {
      ctx.out.print(text);
      return EXIT.ok;
    }
    writeFileSync(output, text);
    ctx.out.line(`wrote ${output} (${format === 'html' ? 'HTML' : 'Markdown'}) from ${journal.records.length} journal records${journal.damaged ? `; ${journal.damaged} damaged line(s) skipped` : ''}`);
    return EXIT.ok;
  },
};
