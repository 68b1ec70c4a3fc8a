/**
 * dmg's fatal error report and exit status (dmg.md §1.2, §8.3): `ERROR: <prog>: <error>`,
 * then a resolution line when the root cause is a fault with a resolution. Exit status is
 * 0 for success and 1 for any error.
 */
import { errorText, isFault, rootCause } from "../../control/lib/fault.ts";
import type { Logger } from "./logger.ts";

/** Exit status for success. */
export const EXIT_OK = 0;
/** Exit status for every error (usage, validation, transport, partial failure). */
export const EXIT_ERROR = 1;

/** The lines (without `ERROR: `) reported for a fatal error. */
export function fatalLines(prog: string, err: unknown): string[] {
  const lines = [`${prog}: ${errorText(err)}`];
  const root = rootCause(err);
  if (isFault(root)) {
    const res = root.resolutionLine();
    if (res !== undefined) lines.push(`${prog}: ${res}`);
  }
  return lines;
}

/** Logs the fatal error through the ERROR level and returns the exit status (1). */
export function reportFatal(log: Logger, prog: string, err: unknown): number {
  for (const line of fatalLines(prog, err)) log.error(line);
  return EXIT_ERROR;
}

/** Program name as dmg prints it: the basename of argv[0]. */
export function programName(argv0: string): string {
  const base = argv0.split("/").pop() ?? argv0;
  return base.replace(/\.(ts|js)$/, "") || "dmg";
}
