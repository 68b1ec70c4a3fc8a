/*
 * Engine tunables for the inter-engine layers (SWIM, RPC, trees), read from the engine's
 * environment. daos_server passes `env_vars` from daos_server.yml into that environment, so an
 * operator tunes them the way DAOS does (same variable names where DAOS has one).
 *
 * | variable                  | unit | default | range        | DAOS name?                    |
 * |---------------------------|------|---------|--------------|-------------------------------|
 * | SWIM_PROTOCOL_PERIOD_LEN  | ms   | 1000    | 100..60000   | yes (cart/swim)               |
 * | SWIM_PING_TIMEOUT         | ms   | 900     | 50..60000    | yes (cart/swim)               |
 * | SWIM_SUSPECT_TIMEOUT      | ms   | 10000   | 500..3600000 | yes (cart/swim)               |
 * | SWIM_SUBGROUP_SIZE        | -    | 2       | 1..8         | no: DAOS's compiled constant  |
 * | CRT_TIMEOUT               | s    | 60      | 1..3600      | yes (cart, RPC timeout)       |
 * | DAOS_TREE_FANOUT          | -    | 32      | 2..256       | no: DAOS hard-codes knomial 32|
 *
 * Cross checks: SWIM_PING_TIMEOUT < SWIM_SUSPECT_TIMEOUT and
 * SWIM_SUSPECT_TIMEOUT >= 3 * SWIM_PROTOCOL_PERIOD_LEN (a suspected member must get several
 * probes, each carrying the suspicion, before it can be declared dead: that is its chance to
 * refute).
 *
 * Why these defaults are safe on a loaded 2-core machine (no false positives):
 *  - period 1 s and ping timeout 900 ms are DAOS's own; a probe fails only when the direct ping
 *    AND the k indirect pings (each 900 ms) all go unanswered, i.e. ~1.8 s of silence;
 *  - the suspicion timeout is 10 s (DAOS used 8 s, later 20 s): a member that is alive but
 *    starved of CPU for several seconds still hears the suspicion on one of the ~10 probes
 *    and refutes it with a new incarnation; a SIGSTOPped engine cannot, so it is dead
 *    ~12 s after it stops answering;
 *  - the SWIM library itself shifts its deadlines when its own tick was late (a stalled prober
 *    does not blame the others for its own stall).
 *
 * Strict parsing: a value that is not a plain decimal integer in range, or that breaks a cross
 * check, is an engine start error naming the variable, its value, the accepted range and the
 * fix. An unset variable takes the default.
 */
#ifndef DSS_TUNABLES_H
#define DSS_TUNABLES_H

#include <stddef.h>
#include <stdint.h>

#define DSS_TUN_SWIM_PERIOD_MS_DEFAULT	 1000u
#define DSS_TUN_SWIM_PING_MS_DEFAULT	 900u
#define DSS_TUN_SWIM_SUSPECT_MS_DEFAULT	 10000u
#define DSS_TUN_SWIM_SUBGROUP_DEFAULT	 2u
#define DSS_TUN_CRT_TIMEOUT_S_DEFAULT	 60u
#define DSS_TUN_TREE_FANOUT_DEFAULT	 32u

/** The engine's inter-engine tunables (see the table above). */
struct dss_tunables {
	uint32_t swim_period_ms;	  /* SWIM_PROTOCOL_PERIOD_LEN */
	uint32_t swim_ping_timeout_ms;	  /* SWIM_PING_TIMEOUT */
	uint32_t swim_suspect_timeout_ms; /* SWIM_SUSPECT_TIMEOUT */
	uint32_t swim_subgroup_size;	  /* SWIM_SUBGROUP_SIZE: k members for indirect pings */
	uint32_t rpc_timeout_s;		  /* CRT_TIMEOUT */
	uint32_t tree_fanout;		  /* DAOS_TREE_FANOUT */
};

/** Looks a variable up; returns NULL when it is unset. */
typedef const char *(*dss_getenv_fn)(void *arg, const char *name);

/** Fills t with the defaults. */
void dss_tunables_defaults(struct dss_tunables *t);

/**
 * Reads every tunable through get (unset → default) and checks ranges and cross checks.
 * 0, or -EINVAL with err holding one message naming the variable, the value, the range and
 * the fix.
 */
int dss_tunables_parse(struct dss_tunables *t, dss_getenv_fn get, void *arg, char *err,
		       size_t errlen);

/** dss_tunables_parse on the process environment (getenv). */
int dss_tunables_from_env(struct dss_tunables *t, char *err, size_t errlen);

/** One line describing t, for the engine log. Returns buf. */
const char *dss_tunables_str(const struct dss_tunables *t, char *buf, size_t len);

#endif /* DSS_TUNABLES_H */
