/* NotifyReady: one fresh connection per attempt, as the DAOS engine's up-call does. */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "drpc_frame.h"
#include "engine_internal.h"
#include "log.h"
#include "shared/event.pb-c.h"
#include "srv/srv.pb-c.h"

#define NOTIFY_MAX_ATTEMPTS 900 /* with the 1024 ms cap: about 15 minutes */
#define NOTIFY_TIMEOUT_MS   10000
#define EVENT_TIMEOUT_MS    2000

int dss_notify_ready_pack(struct dss_engine *eng, uint8_t **out, size_t *out_len)
{
	Srv__NotifyReadyReq req = SRV__NOTIFY_READY_REQ__INIT;
	size_t len;

	req.uri = eng->uri;
	/* one context per target, per helper and the system context, like dss_ctx_nr_total */
	req.nctxs = (uint32_t)(eng->args.targets + eng->args.nr_helpers + 1);
	req.drpclistenersock = eng->sock_path;
	req.instanceidx = (uint32_t)eng->args.instance_idx;
	req.ntgts = (uint32_t)eng->args.targets;
	req.incarnation = eng->incarnation;
	req.check_mode = eng->args.check_mode ? 1 : 0;
	len = srv__notify_ready_req__get_packed_size(&req);
	*out = malloc(len + 1);
	if (*out == NULL)
		return -ENOMEM;
	*out_len = srv__notify_ready_req__pack(&req, *out);
	return 0;
}

/* One attempt of the up-call what: 1 = acknowledged, 0 = retry later, -1 = rejected. */
static int notify_once(struct dss_engine *eng, const char *what, const uint8_t *call,
		       size_t call_len, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	Drpc__Response *resp;
	uint8_t *msg = NULL;
	size_t msg_len = 0;
	int fd, rc;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/daos_server.sock",
			     eng->args.socket_dir) >= sizeof(sa.sun_path))
		return -1; /* args.c bounds socket_dir, so this cannot happen */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		D_DEBUG("%s: %s not available: %s", what, sa.sun_path, strerror(errno));
		close(fd);
		return 0;
	}
	rc = drpc_send_msg(fd, call, call_len, timeout_ms);
	if (rc == 0)
		rc = drpc_recv_msg(fd, &msg, &msg_len, timeout_ms);
	close(fd);
	if (rc != 0) {
		D_WARN("%s: no response from %s: %s", what, sa.sun_path, strerror(-rc));
		return 0;
	}
	resp = drpc__response__unpack(NULL, msg_len, msg);
	free(msg);
	if (resp == NULL) {
		D_ERROR("%s: undecodable response from daos_server", what);
		return 0;
	}
	rc = resp->status == DRPC__STATUS__SUCCESS ? 1 : -1;
	if (rc < 0)
		D_ERROR("%s rejected by daos_server: dRPC status %d", what, resp->status);
	drpc__response__free_unpacked(resp, NULL);
	return rc;
}

void *dss_notify_main(void *arg)
{
	struct dss_engine *eng = arg;
	Drpc__Call call = DRPC__CALL__INIT;
	uint8_t *body = NULL, *buf = NULL;
	size_t body_len = 0, len;
	int delay = 8;

	if (dss_notify_ready_pack(eng, &body, &body_len) != 0)
		goto out;
	call.module = DRPC_MODULE_SRV;
	call.method = DRPC_METHOD_SRV_NOTIFY_READY;
	call.sequence = 0;
	call.body.data = body;
	call.body.len = body_len;
	len = drpc__call__get_packed_size(&call);
	buf = malloc(len + 1);
	if (buf == NULL)
		goto out;
	drpc__call__pack(&call, buf);
	for (int attempt = 0; attempt < NOTIFY_MAX_ATTEMPTS && !dss_engine_stopping(eng);
	     attempt++) {
		int rc = notify_once(eng, "NotifyReady", buf, len, NOTIFY_TIMEOUT_MS);

		if (rc == 1) {
			int started = DAOS_ENGINE_STARTED;

			__atomic_store_n(&eng->notify_done, 1, __ATOMIC_SEQ_CST);
			/* SetUp may already have advanced the state; only move STARTED → READY */
			__atomic_compare_exchange_n(&eng->state, &started, DAOS_ENGINE_READY, 0,
						    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			D_INFO("NotifyReady acknowledged (uri %s, incarnation %llu)", eng->uri,
			       (unsigned long long)eng->incarnation);
			goto out;
		}
		if (rc < 0) {
			dss_engine_fail(eng, "NotifyReady rejected by daos_server");
			goto out;
		}
		if (dss_engine_sleep(eng, delay))
			break;
		delay = delay * 2 > 1024 ? 1024 : delay * 2;
	}
	if (!dss_engine_stopping(eng))
		D_ERROR("NotifyReady: daos_server.sock in %s never answered; giving up",
			eng->args.socket_dir);
out:
	free(body);
	free(buf);
	__atomic_sub_fetch(&eng->nthreads, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Packs call{module srv, method, body} into *out (malloc'd). 0 or -ENOMEM. */
static int pack_srv_call(int method, const uint8_t *body, size_t body_len, uint8_t **out,
			 size_t *out_len)
{
	Drpc__Call call = DRPC__CALL__INIT;

	call.module = DRPC_MODULE_SRV;
	call.method = method;
	call.body.data = (uint8_t *)body;
	call.body.len = body_len;
	*out = malloc(drpc__call__get_packed_size(&call) + 1);
	if (*out == NULL)
		return -ENOMEM;
	*out_len = drpc__call__pack(&call, *out);
	return 0;
}

/*
 * Packs RAS event id for rank/incarnation with msg into a ClusterEvent up-call and makes one
 * bounded attempt. info: the engine-state extended info, or NULL for none.
 */
static int send_event(struct dss_engine *eng, uint32_t id, uint32_t type, uint32_t sev,
		      uint32_t rank, uint64_t incarnation, const char *msg, int engine_info)
{
	Shared__RASEvent ev = SHARED__RASEVENT__INIT;
	Shared__RASEvent__EngineStateEventInfo info =
	    SHARED__RASEVENT__ENGINE_STATE_EVENT_INFO__INIT;
	Shared__ClusterEventReq req = SHARED__CLUSTER_EVENT_REQ__INIT;
	char host[256] = "", ts[64] = "";
	uint8_t *body = NULL, *call = NULL;
	size_t body_len, call_len = 0;
	struct timespec now;
	struct tm tm;
	int rc = -ENOMEM;

	gethostname(host, sizeof(host) - 1);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ev.id = id;
	ev.msg = (char *)msg;
	ev.timestamp = ts;
	ev.type = type;
	ev.severity = sev;
	ev.hostname = host;
	ev.rank = rank;
	ev.incarnation = incarnation;
	ev.proc_id = (uint64_t)getpid();
	if (engine_info) {
		info.instance = (uint32_t)eng->args.instance_idx;
		ev.extended_info_case = SHARED__RASEVENT__EXTENDED_INFO_ENGINE_STATE_INFO;
		ev.engine_state_info = &info;
	}
	req.event = &ev;
	body_len = shared__cluster_event_req__get_packed_size(&req);
	body = malloc(body_len + 1);
	if (body == NULL)
		goto out;
	shared__cluster_event_req__pack(&req, body);
	if (pack_srv_call(DRPC_METHOD_SRV_CLUSTER_EVENT, body, body_len, &call, &call_len) != 0)
		goto out;
	rc = notify_once(eng, "ClusterEvent", call, call_len, EVENT_TIMEOUT_MS) == 1 ? 0 : -EIO;
out:
	free(body);
	free(call);
	return rc;
}

int dss_notify_self_terminated(struct dss_engine *eng, uint32_t rank, const char *msg)
{
	/* one bounded attempt: the engine terminates whether or not daos_server heard it */
	return send_event(eng, DSS_RAS_ENGINE_SELF_TERMINATED, DSS_RAS_TYPE_INFO,
			  DSS_RAS_SEV_NOTICE, rank, eng->incarnation, msg, 1);
}

int dss_notify_swim_rank_dead(struct dss_engine *eng, uint32_t rank, uint64_t incarnation,
			      const char *msg)
{
	/* a state change: daos_server forwards it to the MS leader, which excludes the rank */
	return send_event(eng, DSS_RAS_SWIM_RANK_DEAD, DSS_RAS_TYPE_STATE_CHANGE,
			  DSS_RAS_SEV_NOTICE, rank, incarnation, msg, 0);
}
