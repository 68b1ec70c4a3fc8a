/**
 * Control-plane metrics of daos_server (prefix `daos_cp_`), kept with prom-client in a registry
 * of their own and appended to the telemetry exporter's /metrics: per-method RPC latency
 * (a server interceptor), joins by outcome, MS leadership and map version, the MS's etcd txn
 * latency and group-update lag.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Fanout } from "../mgmt/fanout.ts";
import type { MsMetricsHooks } from "../mgmt/management_service.ts";

/** What the MS gauges read at scrape time. */
export interface MsView {
  /** True while this server is the MS leader (null: not a replica). */
  isLeader(): boolean | null;
  /** The system map version this host's engines were given (null when unknown). */
  mapVersion(): number | null;
}

/** The control-plane metrics of one daos_server. */
export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly rpcDuration: Histogram<"method" | "code">;
  readonly joins: Counter<"result">;
  readonly fanoutDuration: Histogram<"method" | "result">;
  readonly hostFailures: Counter<"method" | "host">;
  readonly etcdTxnDuration: Histogram<"result">;
  readonly groupUpdateLag: Histogram;

  constructor(ms: MsView | null = null) {
    // Gauges read their value when scraped (collect), so nothing polls between scrapes.
    this.rpcDuration = new Histogram({
      name: "daos_cp_rpc_duration_seconds",
      help: "Time to serve a control-plane gRPC call, by method and result code",
      labelNames: ["method", "code"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [this.registry],
    });
    this.joins = new Counter({
      name: "daos_cp_joins_total",
      help: "Join requests served by this server, by result",
      labelNames: ["result"],
      registers: [this.registry],
    });
    this.fanoutDuration = new Histogram({
      name: "daos_cp_fanout_duration_seconds",
      help: "Time of an MS fan-out to the hosts of the involved ranks, by method and result",
      labelNames: ["method", "result"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [this.registry],
    });
    this.hostFailures = new Counter({
      name: "daos_cp_fanout_host_failures_total",
      help: "Fan-out calls to a host that failed, by method and host",
      labelNames: ["method", "host"],
      registers: [this.registry],
    });
    this.etcdTxnDuration = new Histogram({
      name: "daos_cp_etcd_txn_duration_seconds",
      help: "Time of an etcd transaction of this MS replica (queueing included), by result",
      labelNames: ["result"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [this.registry],
    });
    this.groupUpdateLag = new Histogram({
      name: "daos_cp_group_update_lag_seconds",
      help: "Time from a system map version's commit by the MS leader until every host held it",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30],
      registers: [this.registry],
    });
    if (ms !== null) {
      new Gauge({
        name: "daos_cp_mgmt_svc_leader",
        help: "1 while this server is the MS leader, 0 on other replicas",
        registers: [this.registry],
        collect() {
          const l = ms.isLeader();
          if (l !== null) this.set(l ? 1 : 0);
        },
      });
      new Gauge({
        name: "daos_cp_system_map_version",
        help: "System map version known to this server",
        registers: [this.registry],
        collect() {
          const v = ms.mapVersion();
          if (v !== null) this.set(v);
        },
      });
    }
  }

  /** A connect server interceptor timing each call (streams: until the handler returns). */
  interceptor(): Interceptor {
    return (next) => async (req) => {
      const method = `${req.service.typeName}/${req.method.name}`;
      const end = this.rpcDuration.startTimer({ method });
      let code = "OK";
      try {
        return await next(req);
      } catch (e) {
        code = Code[ConnectError.from(e).code] ?? "Unknown";
        throw e;
      } finally {
        end({ code });
        if (req.method.name === "Join") this.joins.inc({ result: code === "OK" ? "ok" : code });
      }
    };
  }

  /** The hooks the management service reports its etcd txns and group updates to. */
  msHooks(): MsMetricsHooks {
    return {
      etcdTxn: (s, ok) => this.etcdTxnDuration.observe({ result: ok ? "ok" : "error" }, s),
      groupUpdateLag: (s) => this.groupUpdateLag.observe(s),
    };
  }

  /** `f` with its rank fan-outs timed and its per-host group-update failures counted. */
  instrumentFanout(f: Fanout): Fanout {
    const out: Fanout = { ...f };
    out.callRanks = async (method, byHost, force) => {
      const end = this.fanoutDuration.startTimer({ method });
      try {
        const r = await f.callRanks(method, byHost, force);
        end({ result: "ok" });
        return r;
      } catch (e) {
        end({ result: "error" });
        throw e;
      }
    };
    const gu = f.groupUpdate?.bind(f);
    if (gu !== undefined) {
      out.groupUpdate = async (addr, req) => {
        const end = this.fanoutDuration.startTimer({ method: "GroupUpdate" });
        try {
          const r = await gu(addr, req);
          end({ result: "ok" });
          return r;
        } catch (e) {
          end({ result: "error" });
          this.hostFailures.inc({ method: "GroupUpdate", host: addr });
          throw e;
        }
      };
    }
    return out;
  }

  /** The metrics in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
