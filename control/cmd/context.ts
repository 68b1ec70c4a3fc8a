/**
 * What every daos_server sub-command gets: the global options (-o, -b, -j, -J, --syslog,
 * --allow-proxy), a command-line logger in the reference's shape (INFO → stdout bare; NOTICE,
 * ERROR → stderr with their prefix; DEBUG only with -b; -J makes records JSON lines; --syslog
 * copies INFO/NOTICE/ERROR to syslog), the -j envelope writer, and the host facts the commands
 * read (replaceable in unit tests).
 */
import { formatEnvelope } from "../../cli/output/envelope.ts";
import type { GoJsonValue } from "../../cli/output/gojson.ts";
import type { StorageScanSource } from "../ctl/storage_scan.ts";
import type { NetworkScanSource } from "../ctl/network_scan.ts";
import type { PmemNamespace } from "../sysinfo/pmem.ts";

/** The reference's global options (main.go mainOpts). */
export interface GlobalOptions {
  allowProxy?: boolean;
  config?: string;
  debug?: boolean;
  json?: boolean;
  jsonLogging?: boolean;
  syslog?: boolean;
}

/** Where output text goes; each call writes all of it before returning. */
export interface CmdIO {
  out(text: string): void;
  err(text: string): void;
}

const enc = new TextEncoder();
function writeAll(w: { writeSync(p: Uint8Array): number }, text: string): void {
  let buf = enc.encode(text);
  while (buf.length > 0) buf = buf.subarray(w.writeSync(buf));
}

/** The process's stdout and stderr. */
export const processIO: CmdIO = {
  out: (t) => writeAll(Deno.stdout, t),
  err: (t) => writeAll(Deno.stderr, t),
};

/** A line sink for syslog (--syslog). */
export interface SyslogSink {
  write(level: "info" | "notice" | "error", msg: string): void;
  close(): Promise<void>;
}

/**
 * Syslog through logger(1) (`-t daos_server`, user facility): Deno has no syslog binding and
 * /dev/log datagram sockets need unstable APIs. Lines are written to its stdin as they come;
 * `cmd` replaces logger in tests.
 */
export function loggerSyslog(cmd: string[] = ["logger", "-t", "daos_server"]): SyslogSink {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (e) {
    throw new Error(
      `--syslog: cannot run ${cmd[0]} (${
        e instanceof Error ? e.message : e
      }): install util-linux's logger or drop --syslog`,
    );
  }
  const w = child.stdin.getWriter();
  let chain: Promise<void> = Promise.resolve();
  const prio: Record<string, string> = { info: "INFO", notice: "NOTICE", error: "ERROR" };
  return {
    write: (level, msg) => {
      const text = msg.replace(/\n$/, "").split("\n").map((l) => `${prio[level]}: ${l}\n`).join("");
      chain = chain.then(() => w.write(enc.encode(text))).catch(() => {});
    },
    close: async () => {
      await chain;
      await w.close().catch(() => {});
      await child.status;
    },
  };
}

/** Leveled command-line logger (the reference's logging.NewCommandLineLogger). */
export class CmdLogger {
  readonly #io: CmdIO;
  readonly #debug: boolean;
  readonly #jsonLines: boolean;
  readonly #syslog: SyslogSink | undefined;
  /** With -j, INFO is removed: stdout carries nothing but the JSON document. */
  infoOff = false;

  constructor(io: CmdIO, opts: { debug?: boolean; jsonLogging?: boolean; syslog?: SyslogSink }) {
    this.#io = io;
    this.#debug = opts.debug === true;
    this.#jsonLines = opts.jsonLogging === true;
    this.#syslog = opts.syslog;
  }

  #emit(level: "debug" | "info" | "notice" | "error", msg: string): void {
    if (this.#jsonLines) {
      const rec = JSON.stringify({ time: new Date().toISOString(), level, msg });
      (level === "info" ? this.#io.out : this.#io.err)(rec + "\n");
      return;
    }
    const nl = msg.endsWith("\n") ? "" : "\n";
    if (level === "info") this.#io.out(msg + nl);
    else this.#io.err(`${level.toUpperCase()}: ${msg}${nl}`);
  }

  /** Normal output (stdout), dropped under -j. */
  info(msg: string): void {
    if (this.infoOff) return;
    this.#syslog?.write("info", msg);
    // Syslog replaces the console for INFO in the reference (WithInfoLogger(syslog)).
    if (!this.#syslog) this.#emit("info", msg);
  }

  /** `NOTICE: …` on stderr. */
  notice(msg: string): void {
    this.#syslog?.write("notice", msg);
    this.#emit("notice", msg);
  }

  /** `ERROR: …` on stderr. */
  error(msg: string): void {
    this.#syslog?.write("error", msg);
    this.#emit("error", msg);
  }

  /** `DEBUG: …` on stderr, only with -b/--debug (never to syslog, as the reference). */
  debug(msg: string): void {
    if (this.#debug) this.#emit("debug", msg);
  }

  /** Flushes the syslog sink. */
  async close(): Promise<void> {
    await this.#syslog?.close();
  }
}

/** PMem as the kernel shows it (libndctl view): namespaces and whether NVDIMMs exist. */
export interface PmemFacts {
  /** NVDIMM devices (nmem*) on the nd bus. */
  modules: number;
  namespaces: PmemNamespace[];
}

/** Host facts the commands read; unit tests replace them with fakes. */
export interface HostDeps {
  /** The storage scan source for the engines given (none: the whole host). */
  storage(engines: StorageScanSource["engines"]): StorageScanSource;
  network(configuredProvider: string): NetworkScanSource;
  pmem(): Promise<PmemFacts>;
  /** Path of SPDK's setup script, or undefined when SPDK is not installed. */
  spdkSetup(): Promise<string | undefined>;
  /** The etcd JSON gateway: POSTs `body` to `url`, returns the parsed answer. */
  httpPost(url: string, body: unknown, timeoutMs: number): Promise<unknown>;
  /** Whether something accepts TCP connections at "IP:port" (the local control port). */
  tcpProbe(addr: string): Promise<boolean>;
  /** The syslog sink of --syslog. */
  syslog(): SyslogSink;
  /** Default config file (the reference's build.ConfigDir/daos_server.yml). */
  defaultConfigPath: string;
}

/** Everything a command body uses. */
export class CmdContext {
  readonly globals: GlobalOptions;
  readonly log: CmdLogger;
  readonly io: CmdIO;
  readonly host: HostDeps;
  #wroteJson = false;

  constructor(globals: GlobalOptions, log: CmdLogger, io: CmdIO, host: HostDeps) {
    this.globals = globals;
    this.log = log;
    this.io = io;
    this.host = host;
    if (globals.json) log.infoOff = true;
  }

  /** True under -j. */
  get json(): boolean {
    return this.globals.json === true;
  }

  /** Writes the one -j document `{"response": …, "error": …, "status": …}`. */
  writeJson(response: GoJsonValue, error?: unknown): void {
    if (this.#wroteJson) throw new Error("JSON output already written for this command");
    this.#wroteJson = true;
    this.io.out(formatEnvelope(response, error));
  }

  /** Under -j, the envelope for a command that wrote none (the reference's final OutputJSON). */
  finishJson(error?: unknown): void {
    if (this.json && !this.#wroteJson) this.writeJson(null, error);
  }
}
