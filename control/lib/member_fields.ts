/**
 * Checks of the fields that describe a system member (Join request, stored member record,
 * group map entry): each returns null when the value is acceptable, else a short reason.
 * They are shared by the MS (join, database decode, group map) and the hosts' group-map relay,
 * so what one side accepts the other can store, encode and deliver.
 */
import { MAX_RANK } from "./rankset.ts";

/** Longest fabric URI an engine can hold in its group map (C `char uri[128]`, NUL included). */
export const MAX_FABRIC_URI_LEN = 127;
/** Longest control address "host:port" (a DNS name is at most 253 characters). */
export const MAX_CONTROL_ADDR_LEN = 260;
/** Longest fault domain path and level. */
export const MAX_FAULT_DOMAIN_LEN = 256;
export const MAX_FAULT_DOMAIN_LEVEL_LEN = 64;
/** Levels below the root a fault domain may have (server.md §1.9). */
export const MAX_FAULT_DOMAIN_LEVELS = 2;
/** Secondary fabric providers an engine may announce. */
export const MAX_SECONDARY_PROVIDERS = 8;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PROVIDER_RE = /^[A-Za-z0-9][A-Za-z0-9+_;-]*$/;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const DNS_LABEL_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/; // "_": seen in cluster host names
const IPV6_RE = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
// Printable, no whitespace, no path separator and no label separator.
const FD_PART_RE = /^[^\s/=\p{Cc}]+$/u;
const UINT64_RE = /^(0|[1-9]\d{0,19})$/;

/** A value quoted for an error message, shortened: the input may be 10k characters long. */
export function quoteInput(v: string, max = 64): string {
  const s = v.length > max ? `${v.slice(0, max)}...` : v;
  return JSON.stringify(s) + (v.length > max ? ` (${v.length} characters)` : "");
}

/** Null for a UUID string (any case). */
export function uuidProblem(uuid: string): string | null {
  return UUID_RE.test(uuid) ? null : `invalid uuid ${quoteInput(uuid)}`;
}

/** Null for a rank a member can hold: an integer in [0, 4294967294] (NilRank excluded). */
export function rankProblem(rank: unknown): string | null {
  if (typeof rank !== "number" || !Number.isInteger(rank) || rank < 0 || rank > MAX_RANK) {
    return `rank ${String(rank)} out of range [0, ${MAX_RANK}]`;
  }
  return null;
}

/** Null for an unsigned 32-bit integer. */
export function uint32Problem(v: unknown, what: string): string | null {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
    ? null
    : `${what} ${String(v)} is not an unsigned 32-bit integer`;
}

/** Null for an unsigned 64-bit integer written in decimal ("0", "1234"). */
export function uint64TextProblem(v: unknown, what: string): string | null {
  if (typeof v === "string" && UINT64_RE.test(v) && BigInt(v) < 2n ** 64n) return null;
  return `${what} ${
    typeof v === "string" ? quoteInput(v) : String(v)
  } is not an unsigned 64-bit integer`;
}

function hostProblem(host: string): string | null {
  if (host === "") return "no host";
  if (IPV6_RE.test(host)) return null;
  const v4 = IPV4_RE.exec(host);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) ? null : `invalid IPv4 address`;
  if (host.length > 253 || !host.split(".").every((l) => DNS_LABEL_RE.test(l))) {
    return "invalid host name";
  }
  return null;
}

function portProblem(port: string): string | null {
  if (!/^\d{1,5}$/.test(port)) return port === "" ? "no port" : "invalid port";
  const n = Number(port);
  return n >= 1 && n <= 65535 ? null : "port out of range [1, 65535]";
}

/** Splits "host:port" (host may be a bracketed IPv6 address); null without a ':'. */
function splitHostPort(s: string): { host: string; port: string } | null {
  const i = s.lastIndexOf(":");
  if (i < 0 || (s.startsWith("[") && i < s.indexOf("]"))) return null;
  return { host: s.slice(0, i), port: s.slice(i + 1) };
}

/** Null for a control address "host:port" (port 1–65535). */
export function controlAddrProblem(addr: string): string | null {
  if (addr.length > MAX_CONTROL_ADDR_LEN) {
    return `control address ${quoteInput(addr)} longer than ${MAX_CONTROL_ADDR_LEN} characters`;
  }
  const hp = splitHostPort(addr);
  const why = hp === null ? "no port" : hostProblem(hp.host) ?? portProblem(hp.port);
  return why === null ? null : `invalid control address ${quoteInput(addr)}: ${why}`;
}

/** Null for a fabric URI "<provider>://<host>:<port>" an engine can store. */
export function fabricUriProblem(uri: string): string | null {
  if (uri.length > MAX_FABRIC_URI_LEN) {
    return `fabric URI ${quoteInput(uri)} longer than ${MAX_FABRIC_URI_LEN} characters`;
  }
  const i = uri.indexOf("://");
  let why: string | null;
  if (i <= 0) why = "no provider scheme (<provider>://)";
  else if (!PROVIDER_RE.test(uri.slice(0, i))) why = "invalid provider";
  else {
    const hp = splitHostPort(uri.slice(i + 3));
    why = hp === null ? "no port" : hostProblem(hp.host) ?? portProblem(hp.port);
  }
  return why === null ? null : `invalid fabric URI ${quoteInput(uri)}: ${why}`;
}

/**
 * Null for a fault domain path: "/" or 1–2 levels "/a/b", each level printable without
 * whitespace, '/' or '=' except one "label=value" separator.
 */
export function faultDomainProblem(fd: string): string | null {
  if (fd === "") return "no fault domain";
  if (fd.length > MAX_FAULT_DOMAIN_LEN) {
    return `fault domain ${quoteInput(fd)} longer than ${MAX_FAULT_DOMAIN_LEN} characters`;
  }
  if (fd === "/") return null;
  const bad = (why: string) => `invalid fault domain ${quoteInput(fd)}: ${why}`;
  if (!fd.startsWith("/")) return bad("must start with /");
  const levels = fd.slice(1).split("/");
  if (levels.includes("")) return bad("empty level");
  if (levels.length > MAX_FAULT_DOMAIN_LEVELS) {
    return bad(`more than ${MAX_FAULT_DOMAIN_LEVELS} levels below the root`);
  }
  for (const l of levels) {
    if (l.length > MAX_FAULT_DOMAIN_LEVEL_LEN) {
      return bad(`level longer than ${MAX_FAULT_DOMAIN_LEVEL_LEN} characters`);
    }
    const parts = l.split("=");
    if (parts.length > 2 || !parts.every((p) => FD_PART_RE.test(p))) {
      return bad(`level ${quoteInput(l)} holds a space, a control character or a misplaced '='`);
    }
  }
  return null;
}

/** Longest info text a member record keeps (a RAS event's or an operation's message). */
export const MAX_MEMBER_INFO_LEN = 1024;

/**
 * The text a member record keeps as its info, from a message a peer sent (a RAS event, a rank
 * operation result): control characters become spaces (the text is printed in dmg's tables)
 * and it is cut to MAX_MEMBER_INFO_LEN characters. A peer's message is not refused, since the
 * state change it comes with matters more than its wording; stored whole, a few events of
 * megabytes each would make every SystemQuery reply too large to send.
 */
export function memberInfo(msg: string): string {
  // deno-lint-ignore no-control-regex
  const clean = msg.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
  if (clean.length <= MAX_MEMBER_INFO_LEN) return clean;
  const note = ` ... (${msg.length} characters)`;
  return clean.slice(0, MAX_MEMBER_INFO_LEN - note.length) + note;
}
