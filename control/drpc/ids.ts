/** dRPC module and method numbers (spec/server.md §6.4). */

/** dRPC modules. */
export const DrpcModule = {
  TEST: 0,
  SEC_AGENT: 1,
  MGMT: 2,
  SRV: 3,
  SEC: 4,
} as const;

/** Methods of the engine's mgmt module (2) that the control plane calls. */
export const MgmtMethod = {
  SET_RANK: 202,
  SET_UP: 209,
  BIO_HEALTH_QUERY: 210,
  SMD_LIST_DEVS: 211,
  SMD_LIST_POOLS: 212,
  PREP_SHUTDOWN: 218,
  DEV_SET_FAULTY: 220,
  DEV_REPLACE: 221,
  PING_RANK: 225,
  GROUP_UPDATE: 232,
  SET_LOG_MASKS: 238,
} as const;

/**
 * Pool methods, served by the engine's pool module under the mgmt module id (2), as in DAOS.
 * POOL_MAP_SET is ours: the MS keeps pool maps in etcd and pushes them (pool_engine.proto).
 */
export const PoolMethod = {
  POOL_CREATE: 207,
  POOL_DESTROY: 208,
  POOL_QUERY: 223,
  POOL_EXTEND: 229,
  POOL_QUERY_TARGETS: 240,
  POOL_MAP_SET: 253,
} as const;

/** Methods of daos_server's srv module (3): engine up-calls. */
export const SrvMethod = {
  NOTIFY_READY: 301,
  GET_POOL_SVC: 303,
  CLUSTER_EVENT: 304,
  POOL_FIND_BYLABEL: 305,
  LIST_POOLS: 310,
  GET_SYS_PROPS: 311,
} as const;
