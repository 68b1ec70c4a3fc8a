/* The engine's RPC transport: start/stop, the group from GroupUpdate, the ping protocol. */
#include "crt_engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crt.h"
#include "daos_engine.h"
#include "engine_internal.h"
#include "iv_engine.h"
#include "tree.h"
#include "tunables.h"
#include "log.h"

#define OPC_PING CRT_PROTO_OPC(CRT_OPC_INTERNAL_BASE, 1, 0)

struct ping_in {
	uint64_t nonce;
};

static int h_ping(const struct crt_req_info *ri, const void *in, void *out)
{
	struct dss_engine *eng = ri->user;
	struct crt_ping_out *o = out;

	if (eng == NULL)
		return -DER_UNREACH; /* a client-only transport serves nothing */
	o->nonce = ((const struct ping_in *)in)->nonce;
	pthread_mutex_lock(&eng->lock);
	o->rank = eng->rank;
	pthread_mutex_unlock(&eng->lock);
	o->instance = (uint32_t)eng->args.instance_idx;
	o->incarnation = eng->incarnation;
	return 0;
}

static const struct crt_proto_rpc_format internal_rpcs[] = {
	{"ping", sizeof(struct ping_in), sizeof(struct crt_ping_out), NULL, h_ping, NULL},
};
static const struct crt_proto_format internal_proto = {
	.name = "crt-internal", .version = 1, .count = 1, .rpcs = internal_rpcs,
	.base = CRT_OPC_INTERNAL_BASE,
};

/* Installs eng's map (GroupUpdate) and rank (SetRank) into the transport when they changed. */
static void group_refresh(struct crt_transport *t, void *user)
{
	struct dss_engine *eng = user;
	struct crt_member *m = NULL;
	uint32_t self, version, cur_self, cur_version;
	size_t n = 0;

	size_t cur_n = crt_group_info_raw(t, &cur_self, &cur_version);

	pthread_mutex_lock(&eng->lock);
	self = eng->rank;
	version = eng->group_version;
	if ((self == cur_self && version == cur_version && (cur_n > 0 || eng->ngroup == 0)) ||
	    eng->group == NULL) {
		pthread_mutex_unlock(&eng->lock);
		if (self != cur_self)
			crt_group_update(t, self, cur_version, NULL, 0);
		return;
	}
	n = eng->ngroup;
	m = calloc(n ? n : 1, sizeof(*m));
	for (size_t i = 0; m != NULL && i < n; i++) {
		m[i].rank = eng->group[i].rank;
		memcpy(m[i].uri, eng->group[i].uri, sizeof(m[i].uri));
	}
	pthread_mutex_unlock(&eng->lock);
	if (m == NULL)
		return;
	crt_group_update(t, self, version, m, n);
	free(m);
}

/* The engine's IV namespace: rooted at the lowest rank of the map, CRT_TIMEOUT and
 * DAOS_TREE_FANOUT from the tunables the engine read at start (engine.c). */
static int iv_start(struct dss_engine *eng, char *err, size_t errlen)
{
	const struct dss_tunables *tun = &eng->tun;
	struct ive_opts o = {.t = eng->crt, .leader = IVE_LEADER_LOWEST,
			     .incarnation = eng->incarnation};
	int rc;

	o.fanout = tun->tree_fanout > CRT_TREE_MAX_K ? CRT_TREE_MAX_K : tun->tree_fanout;
	o.timeout_ms = tun->rpc_timeout_s * 1000u;
	rc = ive_create(&o, &eng->iv);
	if (rc != 0)
		snprintf(err, errlen, "cannot start the IV namespace: %s", strerror(-rc));
	return rc;
}

int dss_crt_start(struct dss_engine *eng, char *err, size_t errlen)
{
	struct crt_transport_opts o = {
		.nctx = eng->nxs, .threads = 1, .system = eng->args.group, .user = eng,
		.group_refresh = group_refresh,
	};
	int rc = fab_config_from_env(&o.fab, err, errlen);

	if (rc != 0)
		return rc;
	rc = crt_transport_create(&o, &eng->crt, err, errlen);
	if (rc != 0)
		return rc;
	rc = crt_proto_register(eng->crt, &internal_proto);
	if (rc != 0) {
		snprintf(err, errlen, "cannot register the RPC layer's own protocol: %s",
			 strerror(-rc));
		dss_crt_stop(eng);
		return rc;
	}
	/*
	 * Every loaded module's protocol, now that the transport exists; they go away with it
	 * (dss_crt_stop runs before the modules unload).
	 */
	for (int i = 0; i < eng->reg.nmods; i++) {
		const struct dss_module *mod = eng->reg.mods[i];

		if (!eng->reg.loaded[i] || mod->proto == NULL)
			continue;
		rc = crt_proto_register(eng->crt, mod->proto);
		if (rc != 0) {
			snprintf(err, errlen, "module %s: cannot register its RPC protocol %s "
				 "(base 0x%08x): %s; give the module a unique base opcode",
				 mod->name, mod->proto->name ? mod->proto->name : "(unnamed)",
				 mod->proto->base, strerror(-rc));
			dss_crt_stop(eng);
			return rc;
		}
		D_INFO("module %s: RPC protocol %s registered", mod->name, mod->proto->name);
	}
	rc = iv_start(eng, err, errlen);
	if (rc != 0) {
		dss_crt_stop(eng);
		return rc;
	}
	snprintf(eng->uri, sizeof(eng->uri), "%s", crt_transport_uri(eng->crt));
	return 0;
}

void dss_crt_stop(struct dss_engine *eng)
{
	ive_destroy(eng->iv); /* before the transport its messages travel on */
	eng->iv = NULL;
	crt_transport_destroy(eng->crt);
	eng->crt = NULL;
}

static uint64_t nonce_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sends a ping and checks the echoed nonce. */
static int ping(struct crt_rpc *rpc, int timeout_ms, struct crt_ping_out *out)
{
	uint64_t nonce = nonce_now();
	int rc;

	((struct ping_in *)crt_req_input(rpc))->nonce = nonce;
	crt_req_set_timeout(rpc, timeout_ms);
	rc = crt_req_send_sync(rpc);
	if (rc == 0) {
		memcpy(out, crt_req_output(rpc), sizeof(*out));
		if (out->nonce != nonce)
			rc = -DER_PROTO;
	}
	crt_req_decref(rpc);
	return rc;
}

int dss_crt_ping_rank(struct dss_engine *eng, uint32_t rank, int timeout_ms,
		      struct crt_ping_out *out)
{
	struct crt_rpc *rpc;

	if (eng->crt == NULL)
		return -DER_UNREACH;
	if (crt_req_create(crt_context_get(eng->crt, 0), rank, 0, OPC_PING, &rpc) != 0)
		return -DER_NOMEM;
	return ping(rpc, timeout_ms, out);
}

DAOS_ENGINE_API int daos_engine_fabric_ping(const char *uri, int timeout_ms, uint32_t *rank,
					    uint32_t *instance, uint64_t *incarnation, char *err,
					    size_t errlen)
{
	struct crt_transport_opts o = {.nctx = 1, .threads = 1};
	struct crt_transport *t = NULL;
	struct crt_ping_out out;
	struct crt_rpc *rpc;
	struct in_addr a;
	uint32_t ip, src;
	uint16_t port;
	char scheme[32];
	int rc;

	if (uri == NULL || crt_uri_parse(uri, &ip, &port) != 0) {
		snprintf(err, errlen, "invalid fabric URI '%s': expected <provider>://IPv4:port",
			 uri ? uri : "(null)");
		return -EINVAL;
	}
	if (timeout_ms <= 0)
		timeout_ms = 1000;
	snprintf(scheme, sizeof(scheme), "%.*s", (int)(strstr(uri, "://") - uri), uri);
	rc = fab_provider_map(scheme, &o.fab, err, errlen);
	if (rc != 0)
		return rc;
	/* our endpoint sits on the address that routes to the target, so it can answer us */
	rc = fab_route_src(ip, &src);
	if (rc != 0) {
		snprintf(err, errlen, "no route to %s: %s", uri, strerror(-rc));
		return rc;
	}
	a.s_addr = src;
	inet_ntop(AF_INET, &a, o.fab.ip, sizeof(o.fab.ip));
	rc = crt_transport_create(&o, &t, err, errlen);
	if (rc != 0)
		return rc;
	rc = crt_proto_register(t, &internal_proto);
	if (rc == 0)
		rc = crt_req_create_uri(crt_context_get(t, 0), uri, 0, OPC_PING, &rpc);
	if (rc == 0)
		rc = ping(rpc, timeout_ms, &out);
	crt_transport_destroy(t);
	if (rc != 0) {
		snprintf(err, errlen, "fabric ping to %s failed: %s (%d)", uri, crt_strerror(rc),
			 rc);
		return rc;
	}
	if (rank)
		*rank = out.rank;
	if (instance)
		*instance = out.instance;
	if (incarnation)
		*incarnation = out.incarnation;
	return 0;
}
