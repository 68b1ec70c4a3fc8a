/** Test helpers for handler tests. */
import { decodeRemoteError } from "../lib/rpc/error_codec.ts";

/** The typed error a failed RPC carried (decoded from its wire form); throws if `p` succeeds. */
export async function remoteErr(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return decodeRemoteError(e);
  }
  throw new Error("expected the call to fail");
}
