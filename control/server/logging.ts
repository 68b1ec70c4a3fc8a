/**
 * daos_server's control log: levels as in `control_log_mask`, written to stderr or to
 * `control_log_file` (appended), as text or JSON lines (`control_log_json`).
 */

/** Log levels, most verbose first; DISABLED logs nothing. */
export const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "NOTICE", "ERROR", "DISABLED"] as const;
/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Parses a mask case-insensitively; throws `"<mask>" is not a valid log level` otherwise. */
export function parseLogLevel(mask: string): LogLevel {
  const up = mask.toUpperCase() as LogLevel;
  if (!LOG_LEVELS.includes(up)) throw new Error(`"${mask}" is not a valid log level`);
  return up;
}

/** The control log. */
export interface Logger {
  trace(msg: string): void;
  debug(msg: string): void;
  info(msg: string): void;
  notice(msg: string): void;
  error(msg: string): void;
  /** Flushes and closes the log file, if any. */
  close(): void;
}

/** Creates the logger; `file` "" = stderr. Throws naming the file when it cannot be opened. */
export function createLogger(opts: { mask: string; file: string; json: boolean }): Logger {
  const threshold = LOG_LEVELS.indexOf(parseLogLevel(opts.mask));
  let out: Deno.FsFile | undefined;
  if (opts.file !== "") {
    try {
      out = Deno.openSync(opts.file, { append: true, create: true });
    } catch (e) {
      throw new Error(
        `cannot open control_log_file ${opts.file}: ${e instanceof Error ? e.message : e}`,
      );
    }
  }
  const enc = new TextEncoder();
  const write = (level: LogLevel, msg: string) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const time = new Date().toISOString();
    const line = opts.json
      ? JSON.stringify({ time, level: level.toLowerCase(), msg }) + "\n"
      : `${level} ${time} ${msg}\n`;
    const bytes = enc.encode(line);
    if (out) out.writeSync(bytes);
    else Deno.stderr.writeSync(bytes);
  };
  return {
    trace: (m) => write("TRACE", m),
    debug: (m) => write("DEBUG", m),
    info: (m) => write("INFO", m),
    notice: (m) => write("NOTICE", m),
    error: (m) => write("ERROR", m),
    close: () => {
      out?.close();
      out = undefined;
    },
  };
}
