// The one place identifiers and literals are turned into SQL text.
// Values should be bound parameters; these are for what cannot be bound:
// identifiers, and literals in utility statements (CREATE SUBSCRIPTION ...
// CONNECTION '...').

/**
 * Quote an identifier by PostgreSQL's rules: always double-quoted, embedded
 * double quotes doubled. Never splits on dots: "a.b" is one name.
 */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError('quoteIdent: an identifier must be a non-empty string');
  }
  if (name.includes('\u0000')) throw new TypeError('quoteIdent: identifier contains a NUL byte');
  return '"' + name.replace(/"/g, '""') + '"';
}

/** schema.name, each part quoted on its own. */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * Quote a string literal. Uses the E'' form when the value holds a
 * backslash so the result means the same whatever standard_conforming_strings is.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new TypeError('quoteLiteral: value contains a NUL byte');
  const doubled = value.replace(/'/g, "''");
  if (value.includes('\\')) return "E'" + doubled.replace(/\\/g, '\\\\') + "'";
  return "'" + doubled + "'";
}

/** A list of quoted identifiers, comma-separated. */
export function quoteIdentList(names: readonly string[]): string {
  return names.map(quoteIdent).join(', ');
}
