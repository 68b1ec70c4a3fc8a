/**
 * dmg's leveled command-line logger (dmg.md §1.1): INFO → stdout without prefix, NOTICE and
 * ERROR → stderr with `NOTICE: ` / `ERROR: ` written once per call, DEBUG only with `-d`.
 * Each call appends a newline only if the message lacks one. `--log-file` additionally
 * appends every record with a timestamp; `-J` makes those records JSON lines.
 */

/** Where text goes. Writes must be complete before returning (ordering across streams). */
export interface TextSink {
  write(text: string): void;
}

const encoder = new TextEncoder();

function writeAllSync(w: { writeSync(p: Uint8Array): number }, text: string): void {
  let buf = encoder.encode(text);
  // Bounded: each writeSync makes progress or throws.
  while (buf.length > 0) buf = buf.subarray(w.writeSync(buf));
}

/** Synchronous sink on the process's stdout. */
export const stdoutSink: TextSink = { write: (t) => writeAllSync(Deno.stdout, t) };
/** Synchronous sink on the process's stderr. */
export const stderrSink: TextSink = { write: (t) => writeAllSync(Deno.stderr, t) };

/** Collects written text in memory (tests, capturing output). */
export class MemorySink implements TextSink {
  text = "";
  write(t: string): void {
    this.text += t;
  }
}

/** Log levels, most severe first. */
export type LogLevel = "error" | "notice" | "info" | "debug";

/** Logger configuration, mostly from global flags. */
export interface LoggerOptions {
  stdout?: TextSink;
  stderr?: TextSink;
  /** `-j`: drop the INFO destination entirely. */
  jsonOutput?: boolean;
  /** `-d`: emit DEBUG records to stderr. */
  debug?: boolean;
  /** `--log-file`: append every record (all levels) here. */
  logFile?: string;
  /** `-J`: log records (file, debug) as JSON lines. */
  jsonLogging?: boolean;
  /** Clock for timestamps (tests). */
  now?: () => Date;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Go `log` standard flags with microseconds: `2006/01/02 15:04:05.000000`. */
function stdTimestamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
    `${pad(d.getMilliseconds(), 3)}000`;
}

function withNewline(s: string): string {
  return s.endsWith("\n") ? s : s + "\n";
}

/** The leveled logger. Create one per process (or per test with memory sinks). */
export class Logger {
  readonly #stdout: TextSink;
  readonly #stderr: TextSink;
  readonly #opts: LoggerOptions;
  #file: Deno.FsFile | undefined;

  constructor(opts: LoggerOptions = {}) {
    this.#opts = opts;
    this.#stdout = opts.stdout ?? stdoutSink;
    this.#stderr = opts.stderr ?? stderrSink;
    if (opts.logFile !== undefined) {
      try {
        this.#file = Deno.openSync(opts.logFile, { create: true, append: true });
      } catch (e) {
        throw new Error(
          `cannot open log file "${opts.logFile}": ${
            e instanceof Error ? e.message : String(e)
          } (check --log-file points to a writable path)`,
          { cause: e },
        );
      }
    }
  }

  /** Normal output (tables etc.) → stdout; suppressed in JSON mode. */
  info(msg: string): void {
    if (!this.#opts.jsonOutput) this.#stdout.write(withNewline(msg));
    this.#toFile("info", msg);
  }

  /** Warning → stderr with `NOTICE: ` before the first line. */
  notice(msg: string): void {
    this.#stderr.write(withNewline("NOTICE: " + msg));
    this.#toFile("notice", msg);
  }

  /** Error → stderr with `ERROR: ` before the first line. */
  error(msg: string): void {
    this.#stderr.write(withNewline("ERROR: " + msg));
    this.#toFile("error", msg);
  }

  /** Diagnostic → stderr only with `-d`; always to the log file if there is one. */
  debug(msg: string): void {
    if (this.#opts.debug) this.#stderr.write(this.#record("debug", msg));
    this.#toFile("debug", msg);
  }

  /** Closes the log file, if any. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  #record(level: LogLevel, msg: string): string {
    const t = (this.#opts.now ?? (() => new Date()))();
    if (this.#opts.jsonLogging) {
      return JSON.stringify({ level, time: t.toISOString(), message: msg.replace(/\n$/, "") }) +
        "\n";
    }
    return withNewline(`${level.toUpperCase()} ${stdTimestamp(t)} ${msg}`);
  }

  #toFile(level: LogLevel, msg: string): void {
    if (this.#file === undefined) return;
    writeAllSync(this.#file, this.#record(level, msg));
  }
}
