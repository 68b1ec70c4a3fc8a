/**
 * `txtfmt`: render a 1024-member `dmg system query -v` table through the real printer;
 * floor = joining the same cell strings with single spaces (the least any layout must do).
 */
import { create } from "@bufbuild/protobuf";
import { printSystemQuery } from "../../../cli/printers/system.ts";
import { SystemMemberSchema, SystemQueryRespSchema } from "../../../proto/gen/ts/mgmt/system_pb.ts";
import { registerScenario } from "../scenario.ts";

const members = Array.from({ length: 1024 }, (_, i) =>
  create(SystemMemberSchema, {
    rank: i,
    uuid: `00000000-0000-0000-0000-${i.toString(16).padStart(12, "0")}`,
    addr: `10.0.${i >> 8}.${i & 255}:10001`,
    faultDomain: `/rack${i >> 5}/host${i}`,
    state: i % 7 === 0 ? "stopped" : "joined",
    info: i % 7 === 0 ? "system stop" : "",
  }));
const resp = create(SystemQueryRespSchema, {
  members,
  sysSelfHealPolicy: "exclude;pool_exclude;pool_rebuild",
});
const cells = members.map((m) => [
  String(m.rank),
  m.uuid,
  m.addr,
  m.faultDomain,
  m.state === "stopped" ? "Stopped" : "Joined",
  m.info,
]);

registerScenario({
  name: "txtfmt",
  description: "1024-member system query -v table vs. joining the same strings",
  run: () => printSystemQuery(resp, { verbose: true }),
  floor: () => cells.map((c) => c.join(" ")).join("\n"),
});
