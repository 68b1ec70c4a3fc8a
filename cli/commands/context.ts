/**
 * What every dmg command gets: the global flags, the logger, the -j envelope writer, the
 * lazily loaded daos_control.yml, host resolution (dmg.md §2.3), deadlines and the control
 * API's Invoker (the transport pool, or one a test injects). Command groups register
 * themselves with `register*(program, run)` from cli/main.ts.
 *
 * Start-up speed: the YAML parser (config) and the Connect/HTTP/2 transport are imported
 * when first needed, not with this module, so `dmg version` and `--help` load neither.
 */
import type { Command } from "commander";
import type { Invoker } from "../../control/lib/control/invoker.ts";
import type { MsOptions } from "../../control/lib/control/system.ts";
import type { FanOutTargets } from "../../control/lib/control/storage.ts";
import { faults } from "../../control/lib/fault.ts";
import { hostsWithPort } from "../../control/lib/hostlist.ts";
import type { TransportPool } from "../../control/lib/rpc/transport.ts";
import type { ControlConfig } from "../config.ts";
import type { EnvelopeWriter } from "../output/envelope.ts";
import type { Logger } from "../output/logger.ts";

/** Default deadline of a request (dmg.md §2.4). */
export const DEFAULT_REQUEST_MS = 5 * 60_000;

/**
 * Default deadline of a read-only MS query (system query, leader-query): an MS that is down
 * (erased, no quorum) is reported after this long instead of after DEFAULT_REQUEST_MS.
 */
export const DEFAULT_QUERY_MS = 30_000;

/**
 * Parses `--timeout`: a number with an optional unit (ms, s, m, h; seconds without one), e.g.
 * "30s", "2m", "90". Throws an error naming the value and the accepted forms.
 */
export function parseTimeout(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]! : NaN;
  if (!(ms >= 1) || !Number.isFinite(ms)) {
    throw new Error(
      `invalid --timeout "${text}": give a positive duration such as 30s, 2m or 90 (seconds)`,
    );
  }
  if (ms > MAX_TIMEOUT_MS) {
    // Timers hold 32-bit milliseconds: a longer one fires at once, so a huge --timeout
    // would end every request immediately with "timed out".
    throw new Error(`invalid --timeout "${text}": at most 24h is accepted`);
  }
  return Math.round(ms);
}

/** Longest `--timeout` (well below the 2^31-1 ms a timer can hold). */
export const MAX_TIMEOUT_MS = 24 * 3_600_000;

/** dmg's global flags. */
export interface GlobalOptions {
  configPath?: string;
  insecure?: boolean;
  debug?: boolean;
  json?: boolean;
  jsonLogging?: boolean;
  logFile?: string;
  allowProxy?: boolean;
  /** Hidden deprecated global -l (only for commands that own a host list). */
  hostList?: string;
  /** Deadline of each request (`--timeout`), replacing the command's default. */
  timeout?: string;
}

/** What a test puts in place of the configuration file and the transports. */
export interface Injected {
  config?: ControlConfig;
  invoker?: Invoker;
}

/** The per-invocation state shared by commands. */
export class CommandContext {
  readonly globals: GlobalOptions;
  readonly log: Logger;
  readonly envelope: EnvelopeWriter;
  #config?: ControlConfig;
  #pool?: TransportPool;
  #invoker?: Invoker;
  readonly #timeoutMs: number | undefined;

  /** Throws on a bad `--timeout` (before any command runs). */
  constructor(
    globals: GlobalOptions,
    log: Logger,
    envelope: EnvelopeWriter,
    injected: Injected = {},
  ) {
    this.globals = globals;
    this.log = log;
    this.envelope = envelope;
    this.#timeoutMs = globals.timeout === undefined ? undefined : parseTimeout(globals.timeout);
    this.#config = injected.config;
    this.#invoker = injected.invoker;
  }

  /** `-j` given. */
  get json(): boolean {
    return this.globals.json === true;
  }

  /** daos_control.yml (loaded once; `-i` forces insecure). */
  async config(): Promise<ControlConfig> {
    if (!this.#config) {
      const { loadControlConfig } = await import("../config.ts");
      const cfg = await loadControlConfig(this.globals.configPath);
      if (this.globals.insecure) cfg.transportConfig.allowInsecure = true;
      this.log.debug(`control config: ${cfg.path || "built-in defaults"}`);
      this.#config = cfg;
    }
    return this.#config;
  }

  /**
   * The control API's Invoker: the client transports (one HTTP/2 session per host), unless a
   * test injected one. Certificates are loaded and verified here, before any connection
   * (dmg.md §2.2); every call carries `x-daos-component: admin` and `x-daos-version`.
   */
  async invoker(): Promise<Invoker> {
    if (this.#invoker) return this.#invoker;
    if (!this.#pool) {
      const cfg = await this.config();
      const [{ loadTransportSecurity, TransportPool }, { MaxPerm }] = await Promise.all([
        import("../../control/lib/rpc/transport.ts"),
        import("../../control/lib/rpc/security_certs.ts"),
      ]);
      let security;
      try {
        security = await loadTransportSecurity(cfg.transportConfig, MaxPerm.groupKey);
      } catch (e) {
        const cause = e instanceof Error ? e.message : String(e);
        throw new Error(`Unable to load Certificate Data: ${cause}`, { cause: e });
      }
      this.#pool = new TransportPool({ security, component: "admin" });
    }
    return this.#pool;
  }

  /**
   * Dial targets ("host:port"): the command's `-l` (or the global one), else the config
   * hostlist; ports appended from the config (dmg.md §2.3).
   */
  async targets(commandHostList?: string): Promise<string[]> {
    const cfg = await this.config();
    const explicit = commandHostList ?? this.globals.hostList;
    const entries = explicit !== undefined && explicit !== "" ? [explicit] : cfg.hostlist;
    const targets = hostsWithPort(entries, cfg.port);
    if (targets.length === 0) throw faults.ClientConfigEmptyHostList();
    return targets;
  }

  /** Absolute deadline for a request starting now: `--timeout` if given, else `ms`. */
  deadline(ms = DEFAULT_REQUEST_MS): number {
    return Date.now() + this.timeoutMs(ms);
  }

  /** A request's time allowed: `--timeout` if given, else `ms`. */
  timeoutMs(ms = DEFAULT_REQUEST_MS): number {
    return this.#timeoutMs ?? ms;
  }

  /**
   * Where and how long to ask the MS: the configured hosts, the deadline (`--timeout` or
   * `ms`, computed last so a timeout message shows the duration given) and, unless `quiet`,
   * a stderr notice of what a retrying request waits for.
   */
  async msOptions(ms = DEFAULT_REQUEST_MS, quiet = false): Promise<MsOptions> {
    const hosts = await this.targets();
    return {
      hosts,
      deadline: this.deadline(ms),
      onWait: quiet ? undefined : msWaitReporter((m) => this.log.notice(m)),
    };
  }

  /** The fan-out targets (see {@link targets}) and the deadline. */
  async fanOutTargets(commandHostList?: string): Promise<FanOutTargets> {
    const targets = await this.targets(commandHostList);
    return { targets, deadline: this.deadline() };
  }

  /** Closes client sessions and the log file. */
  close(): void {
    this.#pool?.close();
    this.log.close();
  }
}

/** Repeats of an unchanged "still waiting" line on stderr at most this often. */
const WAIT_REPORT_MS = 5_000;

/**
 * Reports on stderr what an MS request waits for (no leader yet, replicas unreachable, …):
 * each new diagnosis at once, an unchanged one again every WAIT_REPORT_MS with the time
 * waited, so a wait for a down MS is never silent.
 */
export function msWaitReporter(
  notice: (msg: string) => void,
  now: () => number = Date.now,
): (diagnosis: string) => void {
  const started = now();
  let last = "";
  let lastAt = 0;
  return (diagnosis) => {
    const t = now();
    if (diagnosis === last && t - lastAt < WAIT_REPORT_MS) return;
    const waited = diagnosis === last ? ` (waiting ${Math.round((t - started) / 1000)}s)` : "";
    notice(`${diagnosis}; retrying${waited}`);
    last = diagnosis;
    lastAt = t;
  };
}

/** Wraps a command body into a commander action; main supplies the context. */
export type Runner = <A extends unknown[]>(
  body: (ctx: CommandContext, ...args: A) => Promise<void>,
) => (...args: A) => Promise<void>;

/** Signature of a command group's registration function. */
export type RegisterCommands = (program: Command, run: Runner) => void;

/**
 * The command group `name` of `program`, created on first use, so several modules can add
 * sub-commands to one group (e.g. `storage scan` here, `storage format` elsewhere).
 */
export function commandGroup(
  program: Command,
  name: string,
  alias: string | undefined,
  description: string,
): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  const group = program.command(name).description(description);
  if (alias) group.alias(alias);
  return group;
}
