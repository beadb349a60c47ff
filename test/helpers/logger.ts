/** A Logger for tests that call commands directly: it keeps the lines instead of writing them. */
import { Fields, Logger } from '../../src/io/logger';

export interface MemoryLogger extends Logger {
  lines: string[];
}

export function silentLogger(): MemoryLogger {
  const lines: string[] = [];
  const at = (level: string) => (message: string, fields: Fields = {}) => {
    lines.push([level, message, ...Object.entries(fields).map(([k, v]) => `${k}=${v}`)].join(' '));
  };
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), close: async () => undefined };
}
