/**
 * Deno FFI binding of libdaos_engine.so (engine-ffi/native/include/daos_engine.h).
 * The library runs its own threads and never calls back into JS, so closing is safe once
 * `stop()` (which joins every engine thread) has returned.
 */

/** Symbols of the C API, as Deno.dlopen wants them. */
export const engineSymbols = {
  daos_engine_create: { parameters: ["i32", "buffer", "buffer", "usize"], result: "pointer" },
  daos_engine_start: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  daos_engine_request_stop: { parameters: ["pointer"], result: "void" },
  // Blocks in poll(2), so it must not run on the JS thread.
  daos_engine_wait: { parameters: ["pointer", "i32"], result: "i32", nonblocking: true },
  daos_engine_stop: { parameters: ["pointer"], result: "i32" },
  daos_engine_destroy: { parameters: ["pointer"], result: "void" },
  daos_engine_state: { parameters: ["pointer"], result: "i32" },
  daos_engine_socket_path: { parameters: ["pointer"], result: "pointer" },
  daos_engine_uri: { parameters: ["pointer"], result: "pointer" },
  daos_engine_rank: { parameters: ["pointer"], result: "u32" },
  daos_engine_thread_count: { parameters: ["pointer"], result: "i32" },
  daos_engine_last_error: { parameters: ["pointer"], result: "pointer" },
  daos_engine_incarnation: { parameters: ["pointer"], result: "u64" },
  daos_engine_prep_shutdown: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library. */
export type EngineLibrary = Deno.DynamicLibrary<typeof engineSymbols>;

/** Engine states (enum daos_engine_state). */
export enum EngineState {
  Created = 0,
  Started = 1,
  Ready = 2,
  SetUp = 3,
  Stopping = 4,
  Stopped = 5,
}

/** An engine call failed; the message names the input and the fix (from the C side). */
export class EngineError extends Error {
  override name = "EngineError";
}

/** Path of the library built by `make -C engine-ffi/native`, found relative to this module. */
export function defaultLibraryPath(): string {
  return decodeURIComponent(new URL("./native/build/libdaos_engine.so", import.meta.url).pathname);
}

/**
 * The engine links libfabric, which links the PSM library (libpsm_infinipath): loading it runs
 * a constructor that, unless IPATH_NO_BACKTRACE is set, installs its own SIGINT/SIGTERM/SIGSEGV
 * handlers, which end the process with status 1 (a SIGTERM'd engine no longer stops cleanly,
 * and Deno chains to them). Set it (and PSM2's HFI_NO_BACKTRACE) before any load.
 */
export function quietFabricSignalHandlers(): void {
  for (const name of ["IPATH_NO_BACKTRACE", "HFI_NO_BACKTRACE"]) {
    if (Deno.env.get(name) === undefined) Deno.env.set(name, "1");
  }
}

/** Opens the engine library (default: the one built next to this module). */
export function openEngineLibrary(path = defaultLibraryPath()): EngineLibrary {
  quietFabricSignalHandlers();
  try {
    return Deno.dlopen(path, engineSymbols);
  } catch (e) {
    throw new EngineError(
      `cannot load the engine library ${path}: ${(e as Error).message} ` +
        `(build it with 'make -C engine-ffi/native')`,
    );
  }
}

const ERR_LEN = 1024;

/** `s` as a NUL-terminated C string; throws `onNul()` when `s` itself holds a NUL byte. */
export function nulTerminated(s: string, onNul: () => Error): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  if (bytes.includes(0)) throw onNul();
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function cString(s: string): Uint8Array<ArrayBuffer> {
  return nulTerminated(s, () => new EngineError(`engine argument contains a NUL byte: ${s}`));
}

/** The text of a C error buffer, up to its first NUL byte. */
export function errText(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
}

function readCString(p: Deno.PointerValue): string {
  return p === null ? "" : new Deno.UnsafePointerView(p).getCString();
}

/** One engine instance inside this process (the C library allows one at a time). */
export class Engine {
  #handle: Deno.PointerObject | null;

  private constructor(private readonly lib: EngineLibrary, handle: Deno.PointerObject) {
    this.#handle = handle;
  }

  /**
   * Creates an engine from DAOS engine arguments (without the program name), e.g.
   * `["-t", "2", "-x", "0", "-s", "/mnt/daos", "-d", "/run/daos_server", "-I", "0"]`.
   * Throws EngineError with the library's message on bad arguments or storage.
   */
  static create(lib: EngineLibrary, args: string[]): Engine {
    const strs = ["daos_engine", ...args].map(cString);
    const argv = new BigUint64Array(strs.length + 1);
    strs.forEach((s, i) => argv[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s))));
    const err = new Uint8Array(ERR_LEN);
    const h = lib.symbols.daos_engine_create(strs.length, argv, err, BigInt(ERR_LEN));
    // the C side copies the strings; no GC can run during this synchronous call
    if (h === null) throw new EngineError(errText(err) || "engine creation failed");
    return new Engine(lib, h);
  }

  #h(): Deno.PointerObject {
    if (this.#handle === null) throw new EngineError("engine already destroyed");
    return this.#handle;
  }

  /** Starts xstreams, the dRPC server, the fabric endpoint and NotifyReady. */
  start(): void {
    const err = new Uint8Array(ERR_LEN);
    const rc = this.lib.symbols.daos_engine_start(this.#h(), err, BigInt(ERR_LEN));
    if (rc !== 0) throw new EngineError(errText(err) || `engine start failed (${rc})`);
  }

  /** Asks the engine to stop without waiting (what a signal handler does). */
  requestStop(): void {
    this.lib.symbols.daos_engine_request_stop(this.#h());
  }

  /** Resolves true once a stop was requested, false after timeoutMs. */
  async wait(timeoutMs: number): Promise<boolean> {
    return (await this.lib.symbols.daos_engine_wait(this.#h(), timeoutMs)) === 1;
  }

  /** Stops and joins every engine thread; removes the dRPC socket. Idempotent. */
  stop(): void {
    const rc = this.lib.symbols.daos_engine_stop(this.#h());
    if (rc !== 0) throw new EngineError(`engine stop failed (${rc})`);
  }

  /** Frees the engine (stopping it first if needed). No call may follow. */
  destroy(): void {
    if (this.#handle === null) return;
    this.lib.symbols.daos_engine_destroy(this.#handle);
    this.#handle = null;
  }

  /** Current state. */
  get state(): EngineState {
    return this.lib.symbols.daos_engine_state(this.#h()) as EngineState;
  }

  /** dRPC socket path ("" before start and after stop). */
  get socketPath(): string {
    return readCString(this.lib.symbols.daos_engine_socket_path(this.#h()));
  }

  /** Fabric URI, e.g. ofi+tcp://127.0.0.1:40123 ("" before start). */
  get uri(): string {
    return readCString(this.lib.symbols.daos_engine_uri(this.#h()));
  }

  /** Rank from SetRank, NilRank before. */
  get rank(): number {
    return this.lib.symbols.daos_engine_rank(this.#h());
  }

  /** Engine threads currently running (0 after stop). */
  get threadCount(): number {
    return this.lib.symbols.daos_engine_thread_count(this.#h());
  }

  /** Incarnation sent with NotifyReady. */
  get incarnation(): bigint {
    return BigInt(this.lib.symbols.daos_engine_incarnation(this.#h()));
  }

  /** True after PrepShutdown (targets take no new work) until a SetUp clears it. */
  get prepShutdown(): boolean {
    return this.lib.symbols.daos_engine_prep_shutdown(this.#h()) === 1;
  }

  /** Why the engine stopped itself ("" when it did not). */
  get lastError(): string {
    return readCString(this.lib.symbols.daos_engine_last_error(this.#h()));
  }
}
