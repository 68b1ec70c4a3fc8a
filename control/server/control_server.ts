/**
 * The control server of one daos_server: claims the socket directory, binds the control
 * address and serves ctl.CtlSvc and mgmt.MgmtSvc on it.
 */
import type { ContextValues, Interceptor, ServiceImpl } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import type { ServerConfig } from "../config/types.ts";
import { toWireError } from "../lib/rpc/error_codec.ts";
import {
  type ControlListener,
  listenControl,
  loadTransportSecurity,
  type TransportSecurity,
} from "../lib/rpc/transport.ts";
import { MaxPerm } from "../lib/rpc/security_certs.ts";
import { securityInterceptor } from "../lib/rpc/security_interceptor.ts";
import { claimSocketDir } from "./instance_lock.ts";
import type { Logger } from "./logging.ts";
import { resolveControlHost } from "./control_address.ts";

/** The services to serve (control/handlers) and how to serve them. */
export interface ControlServices {
  ctl: ServiceImpl<typeof CtlSvc>;
  mgmt: ServiceImpl<typeof MgmtSvc>;
  /** Per-request context values from the caller's IP (handlers/mgmt_join.ts peerHostKey). */
  contextValues?: (peerIp: string) => ContextValues;
  /**
   * Interceptors run around each call outside the access check (the audit hook,
   * handlers/audit.ts), after the error mapping.
   */
  interceptors?: (security: TransportSecurity) => Interceptor[];
  /** Already loaded transport security; by default loaded from cfg.transportConfig. */
  security?: TransportSecurity;
}

/** A running control server. */
export interface ControlServer {
  /** "ip:port" bound. */
  readonly address: string;
  /**
   * The loaded transport_config (certificates included in secure mode), for this server's
   * own client calls: `new TransportPool({ security, component: "server" })`.
   */
  readonly security: TransportSecurity;
  /** Stops serving and releases the socket directory. Idempotent. */
  close(): Promise<void>;
}

/** Logs each call at debug level and turns typed errors into their wire form. */
function serverInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    log.debug(`rpc ${req.method.parent.typeName}/${req.method.name}`);
    try {
      return await next(req);
    } catch (err) {
      log.debug(
        `rpc ${req.method.name} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      throw toWireError(err);
    }
  };
}

/**
 * Starts serving `services` for `cfg`. Throws a clear error when the socket dir or address is
 * taken.
 */
export async function startControlServer(
  cfg: ServerConfig,
  log: Logger,
  services: ControlServices,
): Promise<ControlServer> {
  // Certificates first (faults 901–903): nothing is claimed or bound with unusable ones.
  const security = services.security ??
    await loadTransportSecurity(cfg.transportConfig, MaxPerm.userOnlyKey);
  const lock = await claimSocketDir(cfg.socketDir);
  let listener: ControlListener;
  try {
    const host = await resolveControlHost(cfg);
    try {
      listener = await listenControl({
        host,
        port: cfg.port,
        security,
        routes: (r) => {
          r.service(CtlSvc, services.ctl);
          r.service(MgmtSvc, services.mgmt);
        },
        // Errors of the access/version checks pass through serverInterceptor's wire mapping.
        interceptors: [
          serverInterceptor(log),
          ...(services.interceptors?.(security) ?? []),
          securityInterceptor({ secure: !security.allowInsecure }),
        ],
        contextValues: services.contextValues,
        onHandshakeError: (m) => log.notice(m),
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "EADDRINUSE") {
        throw new Error(
          `control address ${host}:${cfg.port} is already in use (another daos_server?): ` +
            `stop it, or set a different control_address or port in ${cfg.path || "the config"}`,
          { cause: e },
        );
      }
      if (code === "EADDRNOTAVAIL") {
        throw new Error(
          `control address ${host} is not an address of this host: fix control_address in ${
            cfg.path || "the config"
          }`,
          { cause: e },
        );
      }
      throw e;
    }
  } catch (e) {
    lock.release();
    throw e;
  }
  log.info(`DAOS Control Server listening on ${listener.address}`);
  let closing: Promise<void> | undefined;
  return {
    address: listener.address,
    security,
    close: () => {
      closing ??= listener.close().finally(() => lock.release());
      return closing;
    },
  };
}
