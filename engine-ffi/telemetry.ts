/**
 * Reader of an engine's telemetry tree over FFI (engine-ffi/native/include/daos_telemetry.h):
 * daos_server lists a local engine's metrics straight from the engine's shared-memory file
 * (/dev/shm/daos_tm_<system>_<instance>), with no dRPC round trip. The C reader opens the file
 * read-only and validates everything in it, so a corrupt tree is a TelemetryError, not a crash.
 */
import { defaultLibraryPath, errText, nulTerminated } from "./ffi.ts";

/** Symbols of the reader API, as Deno.dlopen wants them. */
export const telemetrySymbols = {
  daos_tm_read: {
    parameters: ["buffer", "buffer", "i32", "buffer", "buffer", "usize"],
    result: "i32",
  },
  daos_tm_read_file: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "i32" },
  daos_tm_remove_stale: {
    parameters: ["buffer", "buffer", "i32", "buffer", "usize"],
    result: "i32",
  },
  daos_tm_free: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Kinds of metric an engine keeps (the reference's d_tm types that carry values). */
export type MetricType = "counter" | "gauge" | "timestamp" | "duration";

interface MetricBase {
  /** Path in the tree, e.g. "drpc/mgmt/set_rank/calls". */
  path: string;
  desc: string;
  units: string;
}

/** A counter (only grows), gauge (signed, moves both ways) or timestamp (epoch seconds). */
export interface ValueMetric extends MetricBase {
  type: "counter" | "gauge" | "timestamp";
  value: number;
}

/** Duration statistics over samples in ns (stddev: sample standard deviation). */
export interface DurationMetric extends MetricBase {
  type: "duration";
  count: number;
  sum: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  last: number;
}

/** One metric of an engine. */
export type EngineMetric = ValueMetric | DurationMetric;

/** What an engine's tree holds. */
export interface EngineMetrics {
  system: string;
  instance: number;
  /** The engine process that writes the tree. */
  pid: number;
  /** When the tree was created (epoch seconds). */
  created: number;
  metrics: EngineMetric[];
}

/** Why a tree could not be read. */
export type TelemetryErrorKind =
  | "not_running" // no tree: the engine is not running (or not started yet)
  | "stale" // the engine that wrote the tree is gone
  | "corrupt" // not a valid tree
  | "version" // a tree of another layout version
  | "foreign" // a file of another user (not written by our engine)
  | "invalid" // bad argument (system name, directory)
  | "busy" // the tree's engine is alive (not removed)
  | "io"; // any other failure reading the file

/** A tree could not be read; the message names the file and the cause (from the C reader). */
export class TelemetryError extends Error {
  override name = "TelemetryError";
  constructor(readonly kind: TelemetryErrorKind, readonly errno: number, message: string) {
    super(message);
  }
}

const ERRNO_KIND: Record<number, TelemetryErrorKind> = {
  2: "not_running", // ENOENT
  116: "stale", // ESTALE
  74: "corrupt", // EBADMSG
  71: "version", // EPROTO
  1: "foreign", // EPERM
  22: "invalid", // EINVAL
  16: "busy", // EBUSY
};

const ERR_LEN = 1024;

function cString(s: string, what: string): Uint8Array<ArrayBuffer> {
  return nulTerminated(
    s,
    () => new TelemetryError("invalid", 22, `${what} '${s}' contains a NUL byte`),
  );
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== "number") throw new TelemetryError("corrupt", 74, `metric field ${k}: ${v}`);
  return v;
}

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== "string") throw new TelemetryError("corrupt", 74, `metric field ${k}: ${v}`);
  return v;
}

/** Turns the reader's JSON document into typed metrics (shape-checked: it crossed FFI). */
export function parseMetricsJson(json: string): EngineMetrics {
  const doc: unknown = JSON.parse(json);
  if (!isObj(doc) || !Array.isArray(doc.metrics)) {
    throw new TelemetryError("corrupt", 74, "telemetry reader returned no metric list");
  }
  const metrics = doc.metrics.map((m: unknown): EngineMetric => {
    if (!isObj(m)) throw new TelemetryError("corrupt", 74, "telemetry metric is not an object");
    const base = { path: str(m, "path"), desc: str(m, "desc"), units: str(m, "units") };
    const type = str(m, "type");
    if (type === "duration") {
      return {
        ...base,
        type,
        count: num(m, "count"),
        sum: num(m, "sum"),
        min: num(m, "min"),
        max: num(m, "max"),
        mean: num(m, "mean"),
        stddev: num(m, "stddev"),
        last: num(m, "last"),
      };
    }
    if (type === "counter" || type === "gauge" || type === "timestamp") {
      return { ...base, type, value: num(m, "value") };
    }
    throw new TelemetryError("corrupt", 74, `telemetry metric ${base.path}: type ${type}`);
  });
  return {
    system: str(doc, "system"),
    instance: num(doc, "instance"),
    pid: num(doc, "pid"),
    created: num(doc, "created"),
    metrics,
  };
}

/** Options of a read. */
export interface ReadOptions {
  /** Directory of the trees (default: DAOS_TM_DIR of this process, else /dev/shm). */
  dir?: string;
}

/** The reader library, opened once and reused across scrapes. */
export class TelemetryReader {
  readonly #lib: Deno.DynamicLibrary<typeof telemetrySymbols>;

  /** Opens the reader in libdaos_engine.so (default: the one built next to this module). */
  constructor(path = defaultLibraryPath()) {
    try {
      this.#lib = Deno.dlopen(path, telemetrySymbols);
    } catch (e) {
      throw new TelemetryError(
        "io",
        0,
        `cannot load the telemetry reader from ${path}: ${(e as Error).message} ` +
          `(build it with 'make -C engine-ffi/native')`,
      );
    }
  }

  /** Reads the tree of engine instanceIdx of systemName; throws TelemetryError. */
  read(systemName: string, instanceIdx: number, opts: ReadOptions = {}): EngineMetrics {
    if (!Number.isInteger(instanceIdx) || instanceIdx < 0 || instanceIdx > 0x7fffffff) {
      throw new TelemetryError(
        "invalid",
        22,
        `engine instance index ${instanceIdx} is not a non-negative integer`,
      );
    }
    const out = new BigUint64Array(1);
    const err = new Uint8Array(ERR_LEN);
    const rc = this.#lib.symbols.daos_tm_read(
      cString(opts.dir ?? "", "telemetry directory"),
      cString(systemName, "system name"),
      instanceIdx,
      out,
      err,
      BigInt(ERR_LEN),
    );
    return this.#result(rc, out, err);
  }

  /** Reads a tree file by absolute path; throws TelemetryError. */
  readFile(file: string): EngineMetrics {
    const out = new BigUint64Array(1);
    const err = new Uint8Array(ERR_LEN);
    const rc = this.#lib.symbols.daos_tm_read_file(
      cString(file, "telemetry tree path"),
      out,
      err,
      BigInt(ERR_LEN),
    );
    return this.#result(rc, out, err);
  }

  /**
   * Removes the tree of an engine that is gone (e.g. SIGKILLed): true when removed, false when
   * there was none. Throws TelemetryError kind "busy" when its engine is still running.
   */
  removeStale(systemName: string, instanceIdx: number, opts: ReadOptions = {}): boolean {
    const err = new Uint8Array(ERR_LEN);
    const rc = this.#lib.symbols.daos_tm_remove_stale(
      cString(opts.dir ?? "", "telemetry directory"),
      cString(systemName, "system name"),
      instanceIdx,
      err,
      BigInt(ERR_LEN),
    );
    if (rc === -2) return false;
    if (rc !== 0) {
      throw new TelemetryError(ERRNO_KIND[-rc] ?? "io", -rc, errText(err) || `${rc}`);
    }
    return true;
  }

  #result(rc: number, out: BigUint64Array, err: Uint8Array): EngineMetrics {
    if (rc !== 0) {
      throw new TelemetryError(
        ERRNO_KIND[-rc] ?? "io",
        -rc,
        errText(err) || `telemetry read failed (${rc})`,
      );
    }
    const p = Deno.UnsafePointer.create(out[0]);
    if (p === null) throw new TelemetryError("io", 0, "telemetry reader returned nothing");
    try {
      return parseMetricsJson(new Deno.UnsafePointerView(p).getCString());
    } finally {
      this.#lib.symbols.daos_tm_free(p);
    }
  }

  /** Closes the library; no read may follow. */
  close(): void {
    this.#lib.close();
  }
}

let shared: TelemetryReader | undefined;

/**
 * Lists the metrics of engine instanceIdx of systemName from its shared-memory tree, through a
 * reader opened on first use and kept (closeTelemetryReader closes it). Throws TelemetryError:
 * kind "not_running" when the engine has no tree, "stale" when its engine died.
 */
export function readEngineMetrics(
  systemName: string,
  instanceIdx: number,
  opts: ReadOptions = {},
): EngineMetrics {
  shared ??= new TelemetryReader();
  return shared.read(systemName, instanceIdx, opts);
}

/**
 * Removes the tree an exited engine left (SIGKILL leaves it; the next start of that engine
 * would replace it): true when removed, false when there was none; throws TelemetryError kind
 * "busy" when the engine is alive.
 */
export function removeStaleEngineTree(
  systemName: string,
  instanceIdx: number,
  opts: ReadOptions = {},
): boolean {
  shared ??= new TelemetryReader();
  return shared.removeStale(systemName, instanceIdx, opts);
}

/** Closes the reader readEngineMetrics opened (a later call opens it again). */
export function closeTelemetryReader(): void {
  shared?.close();
  shared = undefined;
}
