/**
 * Component/version interoperability (server.md §7.2, DAOS build/interop.go): which peer
 * versions a daos_server accepts, and the faults 616/617 it answers otherwise.
 */
import { type Fault, makeFault } from "../fault.ts";

/** A MAJOR.MINOR.PATCH version. */
export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** Parses "X.Y.Z" (a leading "v" is accepted); undefined when it is not one. */
export function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** "X.Y.Z". */
export function versionString(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

function cmp(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** A component name with a version, printed `component:X.Y.Z`. */
export interface VersionedComponent {
  component: string;
  version: Version;
}

/** DAOS's MaxMinorDelta between server and agent. */
export const MAX_MINOR_DELTA = 2;

const V2_0: Version = { major: 2, minor: 0, patch: 0 };

/**
 * True when `self` accepts `other`: equal versions always; server↔agent within
 * {@link MAX_MINOR_DELTA} minor versions of the same major (and then no further rule);
 * nothing ≥ 2.0 with anything below 2.0; otherwise the same major.minor.
 */
export function compatible(self: VersionedComponent, other: VersionedComponent): boolean {
  const [a, b] = [self.version, other.version];
  if (cmp(a, b) === 0) return true;
  const pair = new Set([self.component, other.component]);
  if (pair.has("server") && pair.has("agent")) {
    return a.major === b.major && Math.abs(a.minor - b.minor) <= MAX_MINOR_DELTA;
  }
  if (cmp(a, V2_0) >= 0 && cmp(b, V2_0) < 0) return false;
  if (cmp(b, V2_0) >= 0 && cmp(a, V2_0) < 0) return false;
  return a.major === b.major && a.minor === b.minor;
}

function vcString(vc: VersionedComponent): string {
  return `${vc.component}:${versionString(vc.version)}`;
}

/** Fault 616: the peer's component/version is not compatible with ours. */
export function incompatibleComponents(self: VersionedComponent, other: VersionedComponent): Fault {
  return makeFault(
    "ServerIncompatibleComponents",
    `components ${vcString(self)} and ${vcString(other)} are not compatible`,
    "retry the request with compatible components",
  );
}

/** Fault 617: without certificates (and headers) only identical versions are accepted. */
export function noCompatibilityInsecure(self: Version, other: Version): Fault {
  return makeFault(
    "ServerNoCompatibilityInsecure",
    `versions ${versionString(self)} and ${
      versionString(other)
    } are not compatible in insecure mode`,
    "enable certificates or use identical component versions",
  );
}

/** The version suffix of an MS request's `sys` ("daos_server-2.9.100" → 2.9.100). */
export function versionFromSys(sys: string): Version | undefined {
  const parts = sys.split("-");
  return parts.length > 1 ? parseVersion(parts[parts.length - 1]) : undefined;
}
