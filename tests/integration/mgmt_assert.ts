/** Minimal assertions for MS tests (@std/assert is on JSR, which is unreachable here). */
export { ok as assert } from "node:assert/strict";
import { deepStrictEqual } from "node:assert";

/** Deep equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  deepStrictEqual(actual, expected, msg ?? "values differ");
}

/** Expects `f` to reject with an instance of `cls` whose message includes `includes`. */
export async function assertRejects(
  f: () => Promise<unknown>,
  cls: new (...a: never[]) => Error,
  includes: string,
): Promise<Error> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${e}`);
    if (!e.message.includes(includes)) {
      throw new Error(`expected message including "${includes}", got "${e.message}"`);
    }
    return e;
  }
  throw new Error(`expected rejection including "${includes}"`);
}
