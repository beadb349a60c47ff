/**
 * postgresql.conf syntax: `name = value` or `name value`, `#` comments, single-quoted values with
 * doubled quotes, and the include directives. What the server does with it, for the settings the
 * tool reads from a data directory.
 */

export type ConfLine =
  | { kind: 'setting'; name: string; value: string; line: number }
  | { kind: 'include'; how: 'include' | 'include_if_exists' | 'include_dir'; path: string; line: number };

/**
 * The settings and include directives of one configuration file, in order. Names are lower-cased, as
 * the server folds them.
 */
export function parseConf(text: string): ConfLine[] {
  const out: ConfLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=\s*|\s+)('(?:[^'\\]|''|\\.)*'|[^\s#']+)/.exec(raw);
    if (!m) return;
    const name = m[1].toLowerCase();
    const value = m[2].startsWith("'") ? m[2].slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1') : m[2];
    if (name === 'include' || name === 'include_if_exists' || name === 'include_dir') {
      out.push({ kind: 'include', how: name, path: value, line: i + 1 });
    } else {
      out.push({ kind: 'setting', name, value, line: i + 1 });
    }
  });
  return out;
}

/** `on`, `true`, `yes`, `1` and their prefixes, as the server reads a boolean. */
export function isOn(value: string | undefined): boolean {
  return value !== undefined && /^(on|t|tr|tru|true|y|ye|yes|1)$/i.test(value.trim());
}
