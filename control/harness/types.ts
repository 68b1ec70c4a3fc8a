/**
 * The small interfaces the engine harness is written against, so daos_server can wire in the
 * real storage, MS client, logger and event bus (and tests can wire in doubles).
 */
import type { JoinReq, JoinResp } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import type { RASEvent } from "../../proto/gen/ts/shared/event_pb.ts";
import type { Superblock } from "../storage/superblock.ts";

/** Reads and writes one engine's superblock (atomic writes are the store's job). */
export interface SuperblockStore {
  /** The superblock, or null when absent (storage not formatted). */
  read(): Promise<Superblock | null>;
  write(sb: Superblock): Promise<void>;
  /** Removes the superblock; absent is not an error. */
  remove(): Promise<void>;
}

/** Per-instance storage as the harness sees it (spec/server.md §3.2). */
export interface InstanceStorage {
  superblock: SuperblockStore;
  /** True when the instance has to wait for `dmg storage format`. */
  needsFormat(): Promise<boolean>;
  /** Resolves once format completed for this instance; rejects when signal aborts. */
  awaitFormat(signal: AbortSignal): Promise<void>;
  /**
   * Erases the instance's storage for reset format (its ram SCM tmpfs unmounted), after the
   * superblock was removed. Optional: without it only the superblock goes.
   */
  erase?(): Promise<void>;
}

/** Logger used for harness messages and the engines' prefixed output. */
export interface HarnessLog {
  debug(msg: string): void;
  info(msg: string): void;
  error(msg: string): void;
}

/**
 * Sends a Join to the MS (retries are the function's business); onRetry, when given, hears
 * each failure that is retried (the MS unreachable, electing, its database down).
 */
export type JoinFn = (req: JoinReq, onRetry?: (err: unknown) => void) => Promise<JoinResp>;

/** Publishes a RAS event (engine_died, engine_format_required, ...). */
export type NotifyEventFn = (ev: RASEvent) => void;
