import type { Command } from '../command.js';
import { copyRoles } from '../../steps/roles.js';
import { EXIT } from '../../errors.js';

export const command: Command = {
  name: 'roles',
  usage: 'roles [--no-passwords] [--managed]',
  summary: 'copy roles, password hashes and memberships to the target',
  positionals: false,
  flags: {
    'no-passwords': { type: 'boolean', description: 'create the roles without their password hashes' },
    managed: { type: 'boolean', description: 'a managed target (RDS, Cloud SQL, Azure): leave out SUPERUSER, REPLICATION and BYPASSRLS' },
  },
  async run(ctx) {
    const config = ctx.config();
    const report = await copyRoles(config, {
      noPasswords: ctx.flags['no-passwords'] === true,
      managed: ctx.flags.managed === true,
      emit: (e) => ctx.out.event(e),
    });
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, ...report });
      return EXIT.ok;
    }
    const list = (names: string[]): string => names.map((n) => JSON.stringify(n)).join(', ');
    ctx.out.line(`created ${report.created.length} role(s)${report.created.length ? ': ' + list(report.created) : ''}`);
    if (report.skippedExisting.length) ctx.out.line(`already on the target (left unchanged): ${list(report.skippedExisting)}`);
    if (report.skippedBootstrap.length) ctx.out.line(`bootstrap superuser not copied: ${list(report.skippedBootstrap)}`);
    ctx.out.line(`granted ${report.memberships} membership(s)`);
    for (const [role, attrs] of Object.entries(report.strippedAttributes)) {
      ctx.out.line(`${ctx.out.severity('warn')} ${JSON.stringify(role)}: created without ${attrs.join(', ')} (--managed)`);
    }
    if (report.withoutPassword.length) {
      ctx.out.line(`${ctx.out.severity('warn')} login roles without a password (set one on the target before switchover): ${list(report.withoutPassword)}`);
    }
    for (const m of report.skippedMemberships ?? []) ctx.out.line(`${ctx.out.severity('warn')} membership not granted (a role is missing on the target): ${m}`);
    for (const m of report.ungrantableMemberships ?? []) ctx.out.line(`${ctx.out.severity('warn')} membership not granted (the target role may not grant it; --managed): ${m}`);
    return EXIT.ok;
  },
};
