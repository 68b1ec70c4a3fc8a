/**
 * Names of a lab's network namespaces. Every namespace a lab creates is called
 * `dnt<pid>-<tag>-<role>` (role `sw` for the switch, `h<i>` for host i), so a later run can tell
 * leftovers of a crashed run (owner pid gone) from a lab another test process is still using.
 */

/** Prefix shared by every lab namespace. */
export const LAB_PREFIX = "dnt";

/** Host-side interface name inside every host namespace (usable as fabric_iface). */
export const HOST_IFACE = "eth0";

/** Bridge name inside the switch namespace. */
export const BRIDGE = "br0";

/** Parsed lab namespace name. */
export interface LabNsName {
  name: string;
  ownerPid: number;
  tag: string;
  role: string;
}

const NAME_RE = new RegExp(`^${LAB_PREFIX}(\\d+)-([0-9a-z]+)-(sw|h\\d+)$`);

/** Namespace name of `role` ("sw" or "h<i>") in the lab `<pid>-<tag>`. */
export function labNsName(ownerPid: number, tag: string, role: string): string {
  if (!/^[0-9a-z]+$/.test(tag)) throw new Error(`invalid lab tag "${tag}": use [0-9a-z]+`);
  if (!/^(sw|h\d+)$/.test(role)) throw new Error(`invalid lab role "${role}": use sw or h<i>`);
  return `${LAB_PREFIX}${ownerPid}-${tag}-${role}`;
}

/** Parses a lab namespace name; null for any other namespace. */
export function parseLabNsName(name: string): LabNsName | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  return { name, ownerPid: Number(m[1]), tag: m[2], role: m[3] };
}

/**
 * Names from `ip netns list` output. Lines look like `name` or `name (id: 3)`.
 */
export function parseNetnsList(out: string): string[] {
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((n) =>
    n !== "" && n !== undefined
  );
}

/** Switch-side port name of host `i` (inside the switch namespace). */
export function switchPort(i: number): string {
  return `h${i}`;
}

/**
 * Address plan: host `i` gets `<subnet>.<i+1>/24`. `subnet` is the first three octets of a
 * private /24 (e.g. "10.231.7").
 */
export function hostAddress(subnet: string, i: number): string {
  const parts = subnet.split(".");
  if (parts.length !== 3 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new Error(`invalid lab subnet "${subnet}": give the first three octets, e.g. 10.231.7`);
  }
  if (!Number.isInteger(i) || i < 0 || i > 252) {
    throw new Error(`invalid host index ${i}: a /24 lab holds hosts 0..252`);
  }
  return `${subnet}.${i + 1}`;
}
