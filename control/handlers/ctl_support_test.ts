/**
 * CollectLog sessions: small chunks read in order rebuild the archive; a fully read session is
 * dropped; an unknown session or an offset past the end is a clear error.
 */
import { equal, ok, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { CollectLogReqSchema } from "../../proto/gen/ts/ctl/support_pb.ts";
import {
  engineYaml,
  LOCAL_SERVER_HEAD,
  parseConfig,
  ramTierYaml,
} from "../../tests/util/config_fixtures.ts";
import { fakeStorageSource } from "../ctl/testing.ts";
import { concat, sha256Hex } from "../lib/support/collect.ts";
import { ctlSupportHandlers } from "./ctl_support.ts";
import { createServerContext } from "./server_context.ts";

function handlers() {
  const config = parseConfig(LOCAL_SERVER_HEAD + engineYaml(ramTierYaml("/mnt/d0")));
  return ctlSupportHandlers(createServerContext({
    config,
    hostname: "hx",
    scan: {
      network: {
        configuredProvider: "ofi+tcp",
        interfaces: () => Promise.resolve([]),
        topology: () => Promise.resolve({ numaCount: 1, coresPerNuma: 1 }),
      },
      storage: fakeStorageSource(config.engines),
    },
  }));
}

Deno.test("CollectLog: chunked reads rebuild the archive; the finished session is dropped", async () => {
  const h = handlers();
  const first = await h.collectLog(create(CollectLogReqSchema, { chunk: 100 }));
  ok(first.indexJson.includes('"host":"hx"'), first.indexJson);
  const total = Number(first.totalSize);
  ok(total > 100, `archive of ${total} bytes should need several chunks`);
  const parts = [first.data];
  let got = first.data.length;
  while (got < total) {
    const r = await h.collectLog(
      create(CollectLogReqSchema, { session: first.session, offset: BigInt(got), chunk: 100 }),
    );
    equal(r.indexJson, "");
    ok(r.data.length <= 100);
    parts.push(r.data);
    got += r.data.length;
  }
  equal(await sha256Hex(concat(parts)), first.archiveSha256);
  await rejects(
    h.collectLog(create(CollectLogReqSchema, { session: first.session, offset: 0n })),
    /session .* is unknown or expired on hx; rerun collect-log/,
  );
});

Deno.test("CollectLog: an offset past the archive's end is refused", async () => {
  const h = handlers();
  const first = await h.collectLog(create(CollectLogReqSchema, { chunk: 10 }));
  await rejects(
    h.collectLog(
      create(CollectLogReqSchema, { session: first.session, offset: first.totalSize + 1n }),
    ),
    /past the archive's end/,
  );
});
