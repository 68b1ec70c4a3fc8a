/**
 * `dmg storage format` output (dmg.md §5.9): the summary table, the verbose per-host-set
 * device tables, the Errors: block and the -j HostStorage payload.
 */
import type { FormatResults, HostFormatted } from "../../control/lib/control/storage.ts";
import { stripPorts } from "../../control/lib/hostlist.ts";
import { groupPayloads } from "../../control/lib/rpc/group.ts";
import { formatTable, indentLines } from "../../control/lib/txtfmt.ts";
import type { GoJsonValue } from "../output/gojson.ts";
import { hostSetHeader } from "./host_block.ts";
import { hostErrorsBlock } from "./host_errors.ts";

/** Role names of role bits, sorted (`data,meta,wal`), or `NA`. */
export function roleNames(bits: number): string {
  const names = [[1, "data"], [2, "meta"], [4, "wal"]] as const;
  const s = names.filter(([b]) => (bits & b) !== 0).map(([, n]) => n);
  return s.length === 0 ? "NA" : s.join(",");
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function verboseBlock(h: HostFormatted): string {
  let s = "";
  if (h.scm.length === 0) s += "  No SCM mount results\n";
  else {
    s += formatTable(
      ["SCM Mount", "Format Result"],
      [...h.scm].sort((a, b) => cmp(a.path, b.path)).map((m) => ({
        "SCM Mount": m.path,
        "Format Result": m.info,
      })),
    );
  }
  s += "\n";
  if (h.nvme.length === 0) s += "  No NVMe devices were formatted\n";
  else {
    s += formatTable(
      ["NVMe PCI", "Format Result", "Role(s)"],
      [...h.nvme].sort((a, b) => cmp(a.pciAddr, b.pciAddr)).map((n) => ({
        "NVMe PCI": n.pciAddr,
        "Format Result": n.info,
        "Role(s)": roleNames(n.roleBits),
      })),
    );
  }
  return s + "\n";
}

/** Text printed for the results: `out` for stdout, `err` for the Errors: block. */
export function printFormatResults(
  r: FormatResults,
  verbose: boolean,
): { out: string; err: string } {
  const err = hostErrorsBlock(r.hostErrors);
  const items = r.hosts.map((h) => ({ addr: h.addr, payload: h }));
  let out = "";
  if (verbose) {
    const groups = groupPayloads(items, (h) => verboseBlock({ ...h, addr: "" }));
    for (const g of groups) {
      out += hostSetHeader(g.hosts.toString()) + verboseBlock(g.payload);
    }
  } else if (items.length > 0) {
    const groups = groupPayloads(items, (h) => `${h.scm.length}/${h.nvme.length}`);
    out += "Format Summary:\n" + indentLines(
      formatTable(
        ["Hosts", "SCM Devices", "NVMe Devices"],
        groups.map((g) => ({
          Hosts: stripPorts(g.hosts.toString()),
          "SCM Devices": String(g.payload.scm.length),
          "NVMe Devices": String(g.payload.nvme.length),
        })),
      ),
      2,
    );
  }
  return { out, err };
}

/** `-j` payload: HostStorage-like entries keyed by host set (same shape as storage scan). */
export function formatJson(r: FormatResults): GoJsonValue {
  const groups = groupPayloads(
    r.hosts.map((h) => ({ addr: h.addr, payload: h })),
    (h) => JSON.stringify({ ...h, addr: "" }),
  );
  const map: Record<string, GoJsonValue> = {};
  for (const g of groups) {
    map[g.hosts.toString()] = {
      hosts: g.hosts.toString(),
      storage: {
        nvme_devices: g.payload.nvme.map((n) => ({
          info: n.info,
          pci_addr: n.pciAddr,
          smd_devices: [{ roles: roleNames(n.roleBits) }],
        })),
        scm_mount_points: g.payload.scm.map((m) => ({ info: m.info, path: m.path })),
      },
    };
  }
  return map;
}
