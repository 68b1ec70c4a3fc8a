/**
 * The system-name rules, once: what a configured name may be (server.md §1) and how a request's
 * `sys` field is checked against the running system (fault 603, dmg.md §2.4).
 */
import { faults } from "./fault.ts";

/** Longest system name (DAOS_SYS_NAME_MAX). */
export const MAX_SYSTEM_NAME = 15;

/** Why `name` cannot be a system name, or null when it can. */
export function systemNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > MAX_SYSTEM_NAME) {
    return `use a system name of 1 to ${MAX_SYSTEM_NAME} characters`;
  }
  return null;
}

/** A request's `sys` without the optional "-<semver>" suffix a client may append. */
export function systemOfRequest(sys: string): string {
  return sys.replace(/-\d+\.\d+\.\d+.*$/, "");
}

/**
 * Throws fault 603 unless `sys` (possibly version-suffixed) names `actual`. An empty `sys`
 * fails too, as in DAOS. The echoed name is cut to 127 characters: a hostile 10k-character
 * name would otherwise fill the reply and the log.
 */
export function checkRequestSystem(sys: string, actual: string): void {
  const requested = systemOfRequest(sys);
  if (requested !== actual) {
    const shown = requested.length > 127
      ? `${requested.slice(0, 127)}... (${requested.length} characters)`
      : requested;
    throw faults.ServerWrongSystem(shown, actual);
  }
}
