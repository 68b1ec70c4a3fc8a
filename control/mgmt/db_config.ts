/**
 * The MS side of the `mgmt_svc_db` settings: which ports a replica's etcd member uses and where
 * its data lives. The section itself is read (once, with file:line:col problems) by the config
 * loader: control/config/mgmt_svc_db.ts.
 */
import type { EtcdPorts, MgmtSvcDbConfig } from "../config/mgmt_svc_db.ts";

export {
  defaultMgmtSvcDbConfig,
  type EtcdPorts,
  type MgmtSvcDbConfig,
} from "../config/mgmt_svc_db.ts";

/** Ports of the etcd member belonging to replica `addr`. */
export function etcdPortsFor(cfg: MgmtSvcDbConfig, addr: string): EtcdPorts {
  return cfg.ports[addr] ?? { client: cfg.clientPort, peer: cfg.peerPort };
}

/**
 * Directory holding the local etcd member's data: `<control_metadata.path>/daos_control/mgmt_db`
 * when control metadata is configured, else `<engine 0 scm_mount>/mgmt_db`.
 */
export function mgmtDbDir(
  cfg: MgmtSvcDbConfig,
  where: { controlMetadataPath?: string; engine0ScmMount?: string },
): string {
  if (cfg.dataDir) return cfg.dataDir;
  if (where.controlMetadataPath) return `${where.controlMetadataPath}/daos_control/mgmt_db`;
  if (where.engine0ScmMount) return `${where.engine0ScmMount}/mgmt_db`;
  throw new Error(
    "mgmt_svc_db: no place for the MS database (set control_metadata.path, an engine 0 scm_mount, or mgmt_svc_db.data_dir)",
  );
}
