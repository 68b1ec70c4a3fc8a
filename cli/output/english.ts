/** English count phrases used in dmg messages. */

/** `1 host` / `3 hosts` / `1,024 hosts` (plural by `s`, thousands separators). */
export function plural(n: number, singular: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? singular : singular + "s"}`;
}
