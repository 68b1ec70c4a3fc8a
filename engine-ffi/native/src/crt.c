/* The RPC layer: transport, contexts, protocols, group, requests, collectives (crt.h). */
#include "crt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "byteorder.h"
#include "log.h"
#include "telemetry.h"
#include "tree.h"

/* Deadlines are computed and wake-ups signaled: an idle context only checks in this often. */
#define IDLE_POLL_MS 1000
#define CORPC_HDR_LEN CRT_CORPC_HDR_LEN

enum rpc_state { RPC_CREATED = 0, RPC_INFLIGHT = 1, RPC_DONE = 2 };

/*
 * Telemetry of one RPC of a registered protocol, net/<scheme>/op/<proto>.<rpc>/... (the
 * exporter's labels provider and opcode): created with the protocol so that the RPC path only
 * follows a pointer. All NULL without a telemetry tree (each update is then a no-op).
 */
struct op_tm {
	struct dss_tm_node *sent;    /* requests sent (point-to-point and collective children) */
	struct dss_tm_node *served;  /* requests whose handler ran here */
	struct dss_tm_node *failed;  /* sent requests that completed with an error */
	struct dss_tm_node *latency; /* send → completion, ns (the sender's view) */
};

/* Per-context telemetry, net/<scheme>/<metric>/ctx_<n> (the reference's req_timeout among them). */
struct ctx_tm {
	struct dss_tm_node *sent, *recv, *timeout, *latency;
};

struct member {
	uint32_t rank;
	uint32_t ip;
	uint16_t port;
};

/* A collective in progress on this node (root or inner node). */
struct corpc {
	struct crt_context *ctx;
	const struct crt_proto_rpc_format *fmt;
	uint32_t opc, root, version;
	unsigned k;
	int budget_ms;
	uint32_t *members;      /* tree members (group minus excluded), sorted */
	size_t nmembers;
	uint32_t *excluded;
	size_t nex;
	uint8_t *in;
	uint8_t *acc;
	int have_acc;
	struct crt_failure *fail;
	size_t nfail, capfail;
	int pending;            /* children not yet answered */
	struct crt_rpc *root_rpc; /* at the root: the user's rpc; else NULL */
	struct crt_hdr parent;  /* at an inner node: the request to answer */
	struct op_tm *tm;       /* the opcode's telemetry, for the children sent */
};

struct crt_rpc {
	struct crt_context *ctx;
	uint32_t opc;
	const struct crt_proto_rpc_format *fmt;
	uint32_t rank;          /* destination rank (CRT_NIL_RANK for a URI) */
	uint32_t ip;
	uint16_t port, tag;
	int by_uri;
	int coll;
	unsigned k;
	uint32_t *excluded;
	size_t nex;
	uint8_t *in;            /* in_size bytes (collective children: the whole corpc payload) */
	size_t in_len;
	uint8_t *out;           /* out_size bytes */
	int status;
	int forced;             /* status to complete with at once (abort, send failure) */
	uint64_t id;
	int timeout_ms;
	int64_t deadline;
	crt_cb_t cb;
	void *arg;
	int refs;               /* atomic */
	int state;              /* under ctx->lock once sent */
	struct crt_failure *fail;
	size_t nfail;
	struct corpc *child_of; /* a child request sent by a collective node */
	struct op_tm *tm;       /* its opcode's telemetry (NULL: none) */
	uint64_t t0_ns;         /* send time when timed (telemetry on), else 0 */
	struct crt_rpc *next;
};

struct qmsg {
	struct qmsg *next;
	int bad_tag;            /* a request for a context that does not exist */
	size_t len;
	uint8_t data[];
};

struct crt_context {
	struct crt_transport *t;
	int idx;
	int efd;                /* eventfd: wakes the context's thread */
	pthread_t thread;
	int has_thread;
	pthread_mutex_t lock;
	struct qmsg *qhead, *qtail;
	struct crt_rpc *inflight;
	struct crt_rpc *starts; /* collectives to start on this thread */
	struct ctx_tm tm;
};

struct crt_transport {
	struct fab_ep *ep;
	uint32_t ip;
	uint16_t port;
	char uri[160];
	uint32_t sys_id;
	void *user;
	void (*group_refresh)(struct crt_transport *t, void *user);
	int stopping;           /* atomic */
	uint64_t next_id;       /* atomic */
	pthread_mutex_t lock;   /* protocols and group */
	const struct crt_proto_format *protos[CRT_MAX_PROTOS];
	struct op_tm *optm[CRT_MAX_PROTOS]; /* per protocol, count entries (parallel to protos) */
	int nprotos;
	char scheme[32];        /* provider in metric paths ("ofi+tcp") */
	uint32_t self;
	uint32_t version;
	struct member *members; /* sorted by rank */
	size_t nmembers;
	int nctx;
	struct crt_context ctx[];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(struct crt_context *ctx)
{
	uint64_t one = 1;

	if (write(ctx->efd, &one, sizeof(one)) < 0) {
		/* the counter is only far from full: nothing to do */
	}
	/* context 0 may sleep in the provider rather than on its eventfd */
	if (ctx->idx == 0 && !(ctx->has_thread && pthread_equal(pthread_self(), ctx->thread)))
		fab_wake(ctx->t->ep);
}

/* ---- protocols ---- */

/* One metric node of the global tree at net/<scheme>/<a>/<b> (NULL: no tree or no room). */
static struct dss_tm_node *tm_node(const struct crt_transport *t, enum dss_tm_type type,
				   const char *a, const char *b, const char *desc,
				   const char *units)
{
	char path[DSS_TM_PATH_LEN];

	if (dss_tm_global() == NULL)
		return NULL;
	if (snprintf(path, sizeof(path), "net/%s/%s/%s", t->scheme, a, b) >= (int)sizeof(path))
		return NULL;
	return dss_tm_node(type, path, desc, units);
}

/* The nodes of pf's RPCs (op/<proto>.<rpc>/...), found or added now, off the RPC path. */
static void op_tm_create(const struct crt_transport *t, const struct crt_proto_format *pf,
			 struct op_tm *optm)
{
	char op[128];

	for (uint32_t i = 0; i < pf->count && dss_tm_global() != NULL; i++) {
		if (pf->rpcs[i].name != NULL)
			snprintf(op, sizeof(op), "op/%s.%s", pf->name, pf->rpcs[i].name);
		else
			snprintf(op, sizeof(op), "op/%s.%u", pf->name, i);
		optm[i].sent = tm_node(t, DSS_TM_COUNTER, op, "sent",
				       "RPC requests of this opcode sent", "reqs");
		optm[i].served = tm_node(t, DSS_TM_COUNTER, op, "served",
					 "RPC requests of this opcode served here", "reqs");
		optm[i].failed = tm_node(t, DSS_TM_COUNTER, op, "failed",
					 "sent RPC requests of this opcode that failed", "reqs");
		optm[i].latency = tm_node(t, DSS_TM_DURATION, op, "latency",
					  "RPC round trip of this opcode (send to completion)",
					  "ns");
	}
}

int crt_proto_register(struct crt_transport *t, const struct crt_proto_format *pf)
{
	struct op_tm *optm;
	int rc = 0;

	if (pf == NULL || pf->name == NULL || (pf->base & ~CRT_PROTO_BASE_MASK) != 0 ||
	    pf->version > 0xFF || pf->count == 0 || pf->count > 0xFFFF || pf->rpcs == NULL) {
		D_ERROR("crt: protocol %s: bad format (base opcode must use the top 8 bits only, "
			"version 0..255, 1..65535 RPCs)", pf && pf->name ? pf->name : "(unnamed)");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < pf->count; i++)
		if (pf->rpcs[i].handler == NULL || pf->rpcs[i].in_size > CRT_MAX_PAYLOAD ||
		    pf->rpcs[i].out_size > CRT_MAX_PAYLOAD - 16) {
			D_ERROR("crt: protocol %s rpc %u: no handler or sizes above %d bytes",
				pf->name, i, CRT_MAX_PAYLOAD);
			return -EINVAL;
		}
	optm = calloc(pf->count, sizeof(*optm));
	if (optm == NULL)
		return -ENOMEM;
	op_tm_create(t, pf, optm);
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->nprotos && rc == 0; i++)
		if (t->protos[i]->base == pf->base && t->protos[i]->version == pf->version)
			rc = -EEXIST;
	if (rc == 0 && t->nprotos >= CRT_MAX_PROTOS)
		rc = -ENOSPC;
	if (rc == 0) {
		t->optm[t->nprotos] = optm;
		t->protos[t->nprotos++] = pf;
		optm = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	free(optm);
	if (rc == -EEXIST)
		D_ERROR("crt: protocol %s: base 0x%08x version %u already registered", pf->name,
			pf->base, pf->version);
	return rc;
}

/* Format of opc: 0, -DER_UNREG (unknown base or index) or -DER_PROTO (other version). */
static int proto_lookup(struct crt_transport *t, uint32_t opc,
			const struct crt_proto_rpc_format **fmt, struct op_tm **tm)
{
	int rc = -DER_UNREG;

	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->nprotos; i++) {
		const struct crt_proto_format *p = t->protos[i];

		if (p->base != (opc & CRT_PROTO_BASE_MASK))
			continue;
		if (p->version != CRT_PROTO_VER(opc)) {
			rc = -DER_PROTO;
			continue;
		}
		if (CRT_PROTO_IDX(opc) < p->count) {
			*fmt = &p->rpcs[CRT_PROTO_IDX(opc)];
			if (tm != NULL)
				*tm = &t->optm[i][CRT_PROTO_IDX(opc)];
			rc = 0;
		} else {
			rc = -DER_UNREG;
		}
		break;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---- group ---- */

static int member_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct member *)a)->rank, y = ((const struct member *)b)->rank;

	return x < y ? -1 : x > y;
}

int crt_group_update(struct crt_transport *t, uint32_t self, uint32_t version,
		     const struct crt_member *m, size_t n)
{
	struct member *mm = NULL;

	pthread_mutex_lock(&t->lock);
	if (version <= t->version && t->members != NULL) {
		/* an older or repeated map is ignored; a new rank of our own still counts */
		int changed = self != t->self;

		t->self = self;
		pthread_mutex_unlock(&t->lock);
		return changed ? 0 : 1;
	}
	pthread_mutex_unlock(&t->lock);
	if (n > 0) {
		mm = calloc(n, sizeof(*mm));
		if (mm == NULL)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		mm[i].rank = m[i].rank;
		if (crt_uri_parse(m[i].uri, &mm[i].ip, &mm[i].port) != 0) {
			D_ERROR("crt: group map version %u: rank %u has an invalid URI '%s' "
				"(expected <provider>://IPv4:port): unreachable", version, m[i].rank,
				m[i].uri);
			mm[i].ip = 0;
			mm[i].port = 0;
		}
	}
	if (n > 1)
		qsort(mm, n, sizeof(*mm), member_cmp);
	pthread_mutex_lock(&t->lock);
	free(t->members);
	t->members = mm;
	t->nmembers = n;
	t->self = self;
	t->version = version;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static void group_refresh(struct crt_transport *t)
{
	if (t->group_refresh)
		t->group_refresh(t, t->user);
}

size_t crt_group_info_raw(struct crt_transport *t, uint32_t *self, uint32_t *version)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	*self = t->self;
	*version = t->version;
	n = t->members != NULL ? t->nmembers : 0;
	pthread_mutex_unlock(&t->lock);
	return n;
}

size_t crt_group_ranks(struct crt_transport *t, uint32_t *self, uint32_t *version,
		       uint32_t *ranks, size_t cap)
{
	size_t n;

	group_refresh(t);
	pthread_mutex_lock(&t->lock);
	*self = t->self;
	*version = t->version;
	n = t->members != NULL ? t->nmembers : 0;
	for (size_t i = 0; i < n && i < cap; i++)
		ranks[i] = t->members[i].rank;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void crt_group_info(struct crt_transport *t, uint32_t *self, uint32_t *version)
{
	group_refresh(t);
	pthread_mutex_lock(&t->lock);
	*self = t->self;
	*version = t->version;
	pthread_mutex_unlock(&t->lock);
}

/* Under t->lock. */
static const struct member *member_find(const struct crt_transport *t, uint32_t rank)
{
	struct member key = {.rank = rank};

	if (t->nmembers == 0)
		return NULL;
	return bsearch(&key, t->members, t->nmembers, sizeof(key), member_cmp);
}

/* ---- rpc objects ---- */

static struct crt_rpc *rpc_alloc(struct crt_context *ctx, uint32_t opc,
				 const struct crt_proto_rpc_format *fmt)
{
	struct crt_rpc *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->ctx = ctx;
	r->opc = opc;
	r->fmt = fmt;
	r->refs = 1;
	r->rank = CRT_NIL_RANK;
	r->timeout_ms = CRT_DEFAULT_TIMEOUT_MS;
	r->in_len = fmt->in_size;
	r->in = calloc(1, fmt->in_size + 1);
	r->out = calloc(1, fmt->out_size + 1);
	if (r->in == NULL || r->out == NULL) {
		free(r->in);
		free(r->out);
		free(r);
		return NULL;
	}
	return r;
}

void crt_req_addref(struct crt_rpc *rpc)
{
	__atomic_add_fetch(&rpc->refs, 1, __ATOMIC_SEQ_CST);
}

void crt_req_decref(struct crt_rpc *rpc)
{
	if (rpc == NULL || __atomic_sub_fetch(&rpc->refs, 1, __ATOMIC_SEQ_CST) != 0)
		return;
	free(rpc->in);
	free(rpc->out);
	free(rpc->excluded);
	free(rpc->fail);
	free(rpc);
}

static int req_new(struct crt_context *ctx, uint32_t opc, struct crt_rpc **out)
{
	const struct crt_proto_rpc_format *fmt = NULL;
	struct op_tm *tm = NULL;
	int rc = proto_lookup(ctx->t, opc, &fmt, &tm);

	*out = NULL;
	if (rc != 0) {
		D_ERROR("crt: opcode 0x%08x is not registered here (%s): register its protocol "
			"first", opc, crt_strerror(rc));
		return -EINVAL;
	}
	*out = rpc_alloc(ctx, opc, fmt);
	if (*out != NULL)
		(*out)->tm = tm;
	return *out ? 0 : -ENOMEM;
}

int crt_req_create(struct crt_context *ctx, uint32_t rank, uint16_t tag, uint32_t opc,
		   struct crt_rpc **out)
{
	int rc = req_new(ctx, opc, out);

	if (rc == 0) {
		(*out)->rank = rank;
		(*out)->tag = tag;
	}
	return rc;
}

int crt_req_create_uri(struct crt_context *ctx, const char *uri, uint16_t tag, uint32_t opc,
		       struct crt_rpc **out)
{
	uint32_t ip;
	uint16_t port;
	int rc;

	*out = NULL;
	if (crt_uri_parse(uri, &ip, &port) != 0) {
		D_ERROR("crt: invalid fabric URI '%s': expected <provider>://IPv4:port", uri);
		return -EINVAL;
	}
	rc = req_new(ctx, opc, out);
	if (rc == 0) {
		(*out)->by_uri = 1;
		(*out)->ip = ip;
		(*out)->port = port;
		(*out)->tag = tag;
	}
	return rc;
}

int crt_corpc_create(struct crt_context *ctx, uint32_t opc, const uint32_t *excluded,
		     size_t nex, unsigned k, struct crt_rpc **out)
{
	int rc;

	*out = NULL;
	if (k < 1 || k > CRT_TREE_MAX_K || nex > CRT_CORPC_MAX_RANKS) {
		D_ERROR("crt: collective fan-out %u (1..%d) or %zu excluded ranks (max %d) out of "
			"range", k, CRT_TREE_MAX_K, nex, CRT_CORPC_MAX_RANKS);
		return -EINVAL;
	}
	rc = req_new(ctx, opc, out);
	if (rc != 0)
		return rc;
	if ((*out)->fmt->aggregate == NULL) {
		D_ERROR("crt: opcode 0x%08x has no aggregate function: it cannot be collective",
			opc);
		crt_req_decref(*out);
		*out = NULL;
		return -EINVAL;
	}
	(*out)->coll = 1;
	(*out)->k = k;
	if (nex > 0) {
		(*out)->excluded = malloc(nex * sizeof(uint32_t));
		if ((*out)->excluded == NULL) {
			crt_req_decref(*out);
			*out = NULL;
			return -ENOMEM;
		}
		memcpy((*out)->excluded, excluded, nex * sizeof(uint32_t));
		(*out)->nex = nex;
	}
	return 0;
}

void *crt_req_input(struct crt_rpc *rpc)
{
	return rpc->in;
}

const void *crt_req_output(const struct crt_rpc *rpc)
{
	return rpc->out;
}

size_t crt_req_failures(const struct crt_rpc *rpc, const struct crt_failure **f)
{
	*f = rpc->fail;
	return rpc->nfail;
}

uint32_t crt_req_rank(const struct crt_rpc *rpc)
{
	return rpc->rank;
}

void crt_req_set_timeout(struct crt_rpc *rpc, int timeout_ms)
{
	rpc->timeout_ms = timeout_ms > 0 ? timeout_ms : CRT_DEFAULT_TIMEOUT_MS;
}

/* ---- sending ---- */

static void hdr_common(struct crt_transport *t, struct crt_hdr *h)
{
	h->version = CRT_WIRE_VERSION;
	h->reply_ip = t->ip;
	h->reply_port = t->port;
	h->sys_id = t->sys_id;
	pthread_mutex_lock(&t->lock);
	h->src_rank = t->self;
	h->map_version = t->version;
	pthread_mutex_unlock(&t->lock);
}

static int send_msg(struct crt_transport *t, uint32_t ip, uint16_t port, const struct crt_hdr *h,
		    const uint8_t *payload, uint64_t cookie)
{
	uint8_t msg[CRT_MAX_MSG];

	if (h->payload_len > CRT_MAX_PAYLOAD)
		return -EMSGSIZE;
	crt_hdr_encode(h, msg);
	if (h->payload_len)
		memcpy(msg + CRT_HDR_LEN, payload, h->payload_len);
	return fab_send(t->ep, ip, port, msg, CRT_HDR_LEN + h->payload_len, cookie);
}

/* Cookie of a request send: context in the top 16 bits, rpc id below. */
static uint64_t cookie_of(const struct crt_rpc *rpc)
{
	return (uint64_t)rpc->ctx->idx << 48 | rpc->id;
}

/* Completes the rpc soon with status, on its context's thread (under ctx->lock). */
static void force_locked(struct crt_rpc *rpc, int status)
{
	if (rpc->forced == 0)
		rpc->forced = status;
	rpc->deadline = 0;
}

/* Puts a sent rpc in flight and sends it. Caller holds a reference for the layer. */
static void launch(struct crt_rpc *rpc)
{
	struct crt_context *ctx = rpc->ctx;
	struct crt_transport *t = ctx->t;
	struct crt_hdr h = {0};
	int status = 0, rc;

	rpc->id = __atomic_add_fetch(&t->next_id, 1, __ATOMIC_SEQ_CST) & 0xFFFFFFFFFFFFull;
	if (rpc->id == 0)
		rpc->id = __atomic_add_fetch(&t->next_id, 1, __ATOMIC_SEQ_CST) & 0xFFFFFFFFFFFFull;
	if (!rpc->by_uri) {
		const struct member *m;

		group_refresh(t);
		pthread_mutex_lock(&t->lock);
		m = member_find(t, rpc->rank);
		if (m == NULL)
			status = -DER_OOG;
		else if (m->port == 0)
			status = -DER_UNREACH;
		else {
			rpc->ip = m->ip;
			rpc->port = m->port;
		}
		pthread_mutex_unlock(&t->lock);
		if (status == -DER_OOG)
			D_WARN("crt: rank %u is not in the group map: request 0x%08x not sent",
			       rpc->rank, rpc->opc);
	}
	hdr_common(t, &h);
	h.flags = CRT_FLAG_REQ | (rpc->child_of ? CRT_FLAG_COLL : 0);
	h.tag = rpc->tag;
	h.opc = rpc->opc;
	h.rpc_id = rpc->id;
	h.dst_rank = rpc->rank;
	h.payload_len = (uint32_t)rpc->in_len;
	h.src_tag = (uint16_t)ctx->idx;
	if (rpc->tm != NULL && rpc->tm->sent != NULL) {
		dss_tm_node_add(rpc->tm->sent, 1);
		dss_tm_node_add(ctx->tm.sent, 1);
		if (rpc->t0_ns == 0)
			rpc->t0_ns = dss_tm_mono_ns();
	}
	pthread_mutex_lock(&ctx->lock);
	rpc->state = RPC_INFLIGHT;
	rpc->deadline = now_ms() + rpc->timeout_ms;
	rpc->next = ctx->inflight;
	ctx->inflight = rpc;
	if (status != 0)
		force_locked(rpc, status);
	pthread_mutex_unlock(&ctx->lock);
	if (status == 0) {
		rc = send_msg(t, rpc->ip, rpc->port, &h, rpc->in, cookie_of(rpc));
		if (rc != 0) {
			D_WARN("crt: request 0x%08x to rank %u not sent: %s", rpc->opc, rpc->rank,
			       strerror(-rc));
			pthread_mutex_lock(&ctx->lock);
			force_locked(rpc, -DER_UNREACH);
			pthread_mutex_unlock(&ctx->lock);
		}
	}
	wake(ctx);
}

int crt_req_send(struct crt_rpc *rpc, crt_cb_t cb, void *arg)
{
	struct crt_context *ctx;

	if (rpc == NULL)
		return -EINVAL;
	ctx = rpc->ctx;
	pthread_mutex_lock(&ctx->lock);
	if (rpc->state != RPC_CREATED) {
		pthread_mutex_unlock(&ctx->lock);
		return -EALREADY;
	}
	rpc->cb = cb;
	rpc->arg = arg;
	crt_req_addref(rpc); /* the layer's, dropped after the callback */
	if (rpc->coll) {
		/* a collective starts on its context's thread, where its children complete */
		if (rpc->tm != NULL && rpc->tm->sent != NULL)
			rpc->t0_ns = dss_tm_mono_ns();
		rpc->state = RPC_INFLIGHT;
		rpc->next = ctx->starts;
		ctx->starts = rpc;
		pthread_mutex_unlock(&ctx->lock);
		wake(ctx);
		return 0;
	}
	pthread_mutex_unlock(&ctx->lock);
	launch(rpc);
	return 0;
}

int crt_req_abort(struct crt_rpc *rpc)
{
	struct crt_context *ctx = rpc->ctx;
	int rc = -EALREADY;

	if (rpc->coll)
		return -EOPNOTSUPP; /* its children carry their own timeouts */

	pthread_mutex_lock(&ctx->lock);
	for (struct crt_rpc *r = ctx->inflight; r != NULL; r = r->next)
		if (r == rpc) {
			force_locked(rpc, -DER_CANCELED);
			rc = 0;
		}
	pthread_mutex_unlock(&ctx->lock);
	if (rc == 0)
		wake(ctx);
	return rc;
}

/* Runs the callback and drops the layer's reference (on the context's thread). */
static void finish(struct crt_rpc *rpc, int status)
{
	if (rpc->t0_ns != 0) {
		uint64_t ns = dss_tm_mono_ns() - rpc->t0_ns;

		dss_tm_node_sample(rpc->tm->latency, ns);
		dss_tm_node_sample(rpc->ctx->tm.latency, ns);
		if (status != 0)
			dss_tm_node_add(rpc->tm->failed, 1);
		if (status == -DER_TIMEDOUT)
			dss_tm_node_add(rpc->ctx->tm.timeout, 1);
	}
	rpc->status = status;
	rpc->state = RPC_DONE;
	if (rpc->cb)
		rpc->cb(rpc, status, rpc->arg);
	crt_req_decref(rpc);
}

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	int status;
};

static void sync_cb(struct crt_rpc *rpc, int status, void *arg)
{
	struct sync_wait *w = arg;

	(void)rpc;
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	w->status = status;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int crt_req_send_sync(struct crt_rpc *rpc)
{
	struct sync_wait w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	struct crt_context *ctx = rpc->ctx;
	int rc;

	if (ctx->has_thread && pthread_equal(pthread_self(), ctx->thread))
		return -EDEADLK;
	rc = crt_req_send(rpc, sync_cb, &w);
	if (rc != 0)
		return rc;
	if (!ctx->has_thread) {
		/* nobody else progresses this context: the caller does (bounded by the rpc's
		 * own deadline, enforced inside crt_progress) */
		while (!__atomic_load_n(&w.done, __ATOMIC_SEQ_CST))
			crt_progress(ctx, 100);
	}
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	return w.status;
}

/* ---- collectives ---- */

static void corpc_fail(struct corpc *c, uint32_t rank, int status)
{
	if (c->nfail == c->capfail) {
		size_t cap = c->capfail ? c->capfail * 2 : 8;
		struct crt_failure *f = realloc(c->fail, cap * sizeof(*f));

		if (f == NULL)
			return; /* reported as incomplete anyway: the count is what is lost */
		c->fail = f;
		c->capfail = cap;
	}
	c->fail[c->nfail++] = (struct crt_failure){.rank = rank, .status = status};
}

static void corpc_free(struct corpc *c)
{
	free(c->members);
	free(c->excluded);
	free(c->in);
	free(c->acc);
	free(c->fail);
	free(c);
}

/* Contribute one output (the local handler's or a child's). */
static void corpc_fold(struct corpc *c, const void *out)
{
	if (!c->have_acc) {
		memcpy(c->acc, out, c->fmt->out_size);
		c->have_acc = 1;
	} else {
		c->fmt->aggregate(c->acc, out);
	}
}

static void corpc_done(struct corpc *c)
{
	struct crt_transport *t = c->ctx->t;

	if (c->root_rpc != NULL) {
		struct crt_rpc *rpc = c->root_rpc;

		if (c->have_acc)
			memcpy(rpc->out, c->acc, c->fmt->out_size);
		rpc->fail = c->fail;
		rpc->nfail = c->nfail;
		c->fail = NULL;
		finish(rpc, rpc->nfail ? -DER_CORPC_INCOMPLETE : 0);
	} else {
		/* reply: have_acc u32, nfail u32, nfail x (rank u32, status i32), acc */
		size_t cap = (CRT_MAX_PAYLOAD - 8 - c->fmt->out_size) / 8;
		size_t nf = c->nfail < cap ? c->nfail : cap;
		uint8_t payload[CRT_MAX_PAYLOAD];
		struct crt_hdr h = {0};
		size_t off = 8;
		int rc;

		if (nf < c->nfail)
			D_ERROR("crt: collective 0x%08x: %zu failures, only %zu reported", c->opc,
				c->nfail, nf);
		put_le(payload, (uint32_t)c->have_acc, 4);
		put_le(payload + 4, (uint32_t)nf, 4);
		for (size_t i = 0; i < nf; i++, off += 8) {
			put_le(payload + off, c->fail[i].rank, 4);
			put_le(payload + off + 4, (uint32_t)c->fail[i].status, 4);
		}
		if (c->have_acc) {
			memcpy(payload + off, c->acc, c->fmt->out_size);
			off += c->fmt->out_size;
		}
		hdr_common(t, &h);
		h.flags = CRT_FLAG_REPLY | CRT_FLAG_COLL;
		h.tag = c->parent.src_tag;
		h.opc = c->opc;
		h.rpc_id = c->parent.rpc_id;
		h.dst_rank = c->parent.src_rank;
		h.payload_len = (uint32_t)off;
		rc = send_msg(t, c->parent.reply_ip, c->parent.reply_port, &h, payload, 0);
		if (rc != 0)
			D_WARN("crt: collective 0x%08x: reply to rank %u not sent: %s", c->opc,
			       c->parent.src_rank, strerror(-rc));
	}
	corpc_free(c);
}

/* Every descendant of child is reported unreached: its subtree's answers are lost. */
static void corpc_fail_subtree(struct corpc *c, uint32_t child, int status)
{
	uint32_t *d = malloc(c->nmembers * sizeof(*d));
	int n;

	corpc_fail(c, child, status);
	if (d == NULL)
		return;
	n = crt_tree_descendants(c->members, c->nmembers, c->root, c->k, child, d, c->nmembers);
	for (int i = 0; i < n; i++)
		corpc_fail(c, d[i], -DER_UNREACH);
	free(d);
}

/* A child's reply payload: merge its failures and output. 0 or -DER_PROTO. */
static int corpc_merge(struct corpc *c, const uint8_t *p, size_t len)
{
	struct crt_corpc_reply r;

	if (crt_corpc_reply_decode(p, len, c->fmt->out_size, &r) != 0)
		return -DER_PROTO;
	for (uint32_t i = 0; i < r.nfail; i++)
		corpc_fail(c, (uint32_t)get_le(r.fail + i * 8, 4),
			   (int32_t)(uint32_t)get_le(r.fail + i * 8 + 4, 4));
	if (r.have_out)
		corpc_fold(c, r.out);
	return 0;
}

static void corpc_child_cb(struct crt_rpc *rpc, int status, void *arg)
{
	struct corpc *c = arg;

	if (status == 0) {
		/* the reply path stashed the child's raw payload in rpc->out, its length in nfail */
		int rc = corpc_merge(c, rpc->out, rpc->nfail);

		if (rc != 0) {
			D_WARN("crt: collective 0x%08x: malformed reply from rank %u", c->opc,
			       rpc->rank);
			corpc_fail_subtree(c, rpc->rank, rc);
		}
	} else {
		D_WARN("crt: collective 0x%08x: child rank %u failed: %s", c->opc, rpc->rank,
		       crt_strerror(status));
		corpc_fail_subtree(c, rpc->rank, status);
	}
	if (--c->pending == 0)
		corpc_done(c);
}

/* Forward to the children, run the handler, and finish when every child answered. */
static void corpc_run(struct corpc *c, uint32_t self, uint32_t src_rank)
{
	struct crt_transport *t = c->ctx->t;
	uint32_t children[CRT_TREE_MAX_K];
	struct crt_req_info ri = {.ctx = c->ctx, .ctx_idx = c->ctx->idx, .user = t->user,
				  .opc = c->opc, .src_rank = src_rank,
				  .map_version = c->version, .collective = 1};
	size_t plen = CORPC_HDR_LEN + c->nex * 4 + c->fmt->in_size;
	int n = crt_tree_children(c->members, c->nmembers, c->root, c->k, self, children,
				  CRT_TREE_MAX_K);
	int child_budget = c->budget_ms * 3 / 4;
	uint8_t *out;
	int rc;

	if (n < 0)
		n = 0;
	c->pending = 1; /* ourselves, until the handler ran */
	for (int i = 0; i < n; i++) {
		struct crt_rpc *r = rpc_alloc(c->ctx, c->opc, c->fmt);
		uint8_t *p = r ? malloc(plen) : NULL;

		if (r != NULL)
			r->tm = c->tm;
		if (p == NULL || child_budget < 1) {
			crt_req_decref(r);
			free(p);
			corpc_fail_subtree(c, children[i], child_budget < 1 ? -DER_TIMEDOUT
									    : -DER_NOMEM);
			continue;
		}
		put_le(p, c->root, 4);
		put_le(p + 4, c->k, 2);
		put_le(p + 6, 0, 2);
		put_le(p + 8, (uint32_t)child_budget, 4);
		put_le(p + 12, (uint32_t)c->nex, 4);
		put_le(p + 16, (uint32_t)c->fmt->in_size, 4);
		for (size_t e = 0; e < c->nex; e++)
			put_le(p + CORPC_HDR_LEN + e * 4, c->excluded[e], 4);
		memcpy(p + CORPC_HDR_LEN + c->nex * 4, c->in, c->fmt->in_size);
		free(r->in);
		r->in = p;
		r->in_len = plen;
		r->rank = children[i];
		r->child_of = c;
		r->timeout_ms = child_budget;
		r->cb = corpc_child_cb;
		r->arg = c;
		r->state = RPC_INFLIGHT;
		c->pending++;
		/* the child rpc is the layer's alone: its only reference is dropped at finish */
		launch(r);
	}
	out = calloc(1, c->fmt->out_size + 1);
	rc = out ? c->fmt->handler(&ri, c->in, out) : -DER_NOMEM;
	if (rc == 0)
		corpc_fold(c, out);
	else
		corpc_fail(c, self, rc);
	free(out);
	if (--c->pending == 0)
		corpc_done(c);
}

static struct corpc *corpc_new(struct crt_context *ctx, const struct crt_proto_rpc_format *fmt,
			       uint32_t opc)
{
	struct corpc *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ctx = ctx;
	c->fmt = fmt;
	c->opc = opc;
	c->acc = calloc(1, fmt->out_size + 1);
	c->in = calloc(1, fmt->in_size + 1);
	if (c->acc == NULL || c->in == NULL) {
		corpc_free(c);
		return NULL;
	}
	return c;
}

/* Snapshot of the group's ranks minus excluded; fills c->members. 0 or -DER_*. */
static int corpc_members(struct corpc *c, uint32_t *self)
{
	struct crt_transport *t = c->ctx->t;
	uint32_t *ranks;
	size_t n;
	int rc;

	pthread_mutex_lock(&t->lock);
	n = t->nmembers;
	*self = t->self;
	c->version = t->version;
	ranks = malloc((n ? n : 1) * sizeof(*ranks));
	for (size_t i = 0; ranks && i < n; i++)
		ranks[i] = t->members[i].rank;
	pthread_mutex_unlock(&t->lock);
	if (ranks == NULL)
		return -DER_NOMEM;
	rc = crt_tree_members(ranks, n, c->excluded, c->nex, &c->members, &c->nmembers);
	free(ranks);
	if (rc != 0)
		return -DER_NOMEM;
	if (c->nmembers > CRT_CORPC_MAX_RANKS)
		return -DER_OVERFLOW;
	return 0;
}

/* At the root: start a collective the user sent (on the context's thread). */
static void corpc_start(struct crt_rpc *rpc)
{
	struct corpc *c = corpc_new(rpc->ctx, rpc->fmt, rpc->opc);
	uint32_t self;
	int rc;

	if (c == NULL) {
		finish(rpc, -DER_NOMEM);
		return;
	}
	c->tm = rpc->tm;
	group_refresh(rpc->ctx->t);
	c->k = rpc->k;
	c->budget_ms = rpc->timeout_ms;
	c->root_rpc = rpc;
	memcpy(c->in, rpc->in, rpc->fmt->in_size);
	if (rpc->nex > 0) {
		c->excluded = malloc(rpc->nex * sizeof(uint32_t));
		if (c->excluded == NULL) {
			corpc_free(c);
			finish(rpc, -DER_NOMEM);
			return;
		}
		memcpy(c->excluded, rpc->excluded, rpc->nex * sizeof(uint32_t));
		c->nex = rpc->nex;
	}
	rc = corpc_members(c, &self);
	if (rc == 0 && (self == CRT_NIL_RANK ||
			crt_tree_depth(c->members, c->nmembers, self, c->k, self) < 0)) {
		D_ERROR("crt: collective 0x%08x: this engine (rank %u) is not in the group map or "
			"is excluded: it cannot be the root", rpc->opc, self);
		rc = -DER_OOG;
	}
	if (rc != 0) {
		corpc_free(c);
		finish(rpc, rc);
		return;
	}
	c->root = self;
	rpc->rank = self;
	corpc_run(c, self, self);
}

/* ---- receiving ---- */

static void reply_status(struct crt_transport *t, const struct crt_hdr *req, int status,
			 const uint8_t *payload, size_t len)
{
	struct crt_hdr h = {0};
	int rc;

	hdr_common(t, &h);
	h.flags = CRT_FLAG_REPLY | (req->flags & CRT_FLAG_COLL);
	h.tag = req->src_tag;
	h.opc = req->opc;
	h.rpc_id = req->rpc_id;
	h.dst_rank = req->src_rank;
	h.status = status;
	h.payload_len = (uint32_t)len;
	rc = send_msg(t, req->reply_ip, req->reply_port, &h, payload, 0);
	if (rc != 0)
		D_WARN("crt: reply to 0x%08x from rank %u not sent: %s", req->opc, req->src_rank,
		       strerror(-rc));
}

/* An inner node's part of a collective: decode, check the map version, run. */
static void corpc_inner(struct crt_context *ctx, const struct crt_hdr *h,
			const struct crt_proto_rpc_format *fmt, struct op_tm *tm, const uint8_t *p)
{
	struct crt_transport *t = ctx->t;
	struct crt_corpc_req r;
	uint32_t self;
	struct corpc *c;
	int rc;

	if (crt_corpc_req_decode(p, h->payload_len, fmt->in_size, &r) != 0) {
		D_WARN("crt: malformed collective 0x%08x from rank %u", h->opc, h->src_rank);
		reply_status(t, h, -DER_PROTO, NULL, 0);
		return;
	}
	if (fmt->aggregate == NULL) {
		reply_status(t, h, -DER_INVAL, NULL, 0);
		return;
	}
	c = corpc_new(ctx, fmt, h->opc);
	if (c != NULL)
		c->tm = tm;
	if (c == NULL ||
	    (r.nex > 0 && (c->excluded = malloc(r.nex * sizeof(uint32_t))) == NULL)) {
		if (c)
			corpc_free(c);
		reply_status(t, h, -DER_NOMEM, NULL, 0);
		return;
	}
	c->root = r.root;
	c->k = r.k;
	c->budget_ms = (int)r.budget_ms;
	c->nex = r.nex;
	c->parent = *h;
	for (uint32_t i = 0; i < r.nex; i++)
		c->excluded[i] = (uint32_t)get_le(r.excluded + i * 4, 4);
	memcpy(c->in, r.in, fmt->in_size);
	if (fmt->in_check && fmt->in_check(c->in) != 0) {
		corpc_free(c);
		reply_status(t, h, -DER_INVAL, NULL, 0);
		return;
	}
	rc = corpc_members(c, &self);
	if (rc == 0 && h->map_version != c->version) {
		/* the tree is computed from the map: both ends must hold the same one */
		D_WARN("crt: collective 0x%08x from rank %u built on map version %u, ours is %u",
		       h->opc, h->src_rank, h->map_version, c->version);
		rc = -DER_GRPVER;
	}
	if (rc == 0 && (crt_tree_depth(c->members, c->nmembers, r.root, r.k, self) < 0))
		rc = -DER_OOG;
	if (rc != 0) {
		corpc_free(c);
		reply_status(t, h, rc, NULL, 0);
		return;
	}
	corpc_run(c, self, h->src_rank);
}

static void handle_request(struct crt_context *ctx, const struct crt_hdr *h, const uint8_t *p)
{
	struct crt_transport *t = ctx->t;
	const struct crt_proto_rpc_format *fmt = NULL;
	struct crt_req_info ri = {.ctx = ctx, .ctx_idx = ctx->idx, .user = t->user,
				  .opc = h->opc, .src_rank = h->src_rank,
				  .map_version = h->map_version};
	struct op_tm *tm = NULL;
	uint32_t self;
	int rc, known_src;
	uint8_t *in, *out;

	dss_tm_node_add(ctx->tm.recv, 1);
	rc = proto_lookup(t, h->opc, &fmt, &tm);
	if (rc != 0) {
		D_WARN("crt: request 0x%08x from rank %u: %s", h->opc, h->src_rank,
		       rc == -DER_PROTO ? "protocol version not registered" : "unknown opcode");
		reply_status(t, h, rc, NULL, 0);
		return;
	}
	if (h->sys_id != 0 && t->sys_id != 0 && h->sys_id != t->sys_id) {
		reply_status(t, h, -DER_MISMATCH, NULL, 0);
		return;
	}
	group_refresh(t);
	pthread_mutex_lock(&t->lock);
	self = t->self;
	known_src = h->src_rank == CRT_NIL_RANK || member_find(t, h->src_rank) != NULL;
	pthread_mutex_unlock(&t->lock);
	if (h->dst_rank != CRT_NIL_RANK && h->dst_rank != self) {
		D_WARN("crt: request 0x%08x for rank %u reached rank %u", h->opc, h->dst_rank, self);
		reply_status(t, h, -DER_BAD_TARGET, NULL, 0);
		return;
	}
	if (!known_src) {
		D_WARN("crt: request 0x%08x from rank %u, which is not in our map", h->opc,
		       h->src_rank);
		reply_status(t, h, -DER_OOG, NULL, 0);
		return;
	}
	if (h->flags & CRT_FLAG_COLL) {
		dss_tm_node_add(tm->served, 1);
		corpc_inner(ctx, h, fmt, tm, p);
		return;
	}
	if (h->payload_len != fmt->in_size) {
		reply_status(t, h, -DER_PROTO, NULL, 0);
		return;
	}
	dss_tm_node_add(tm->served, 1);
	in = calloc(1, fmt->in_size + 1);
	out = calloc(1, fmt->out_size + 1);
	if (in == NULL || out == NULL) {
		rc = -DER_NOMEM;
	} else {
		memcpy(in, p, fmt->in_size);
		rc = fmt->in_check && fmt->in_check(in) != 0 ? -DER_INVAL
							     : fmt->handler(&ri, in, out);
	}
	reply_status(t, h, rc, rc == 0 ? out : NULL, rc == 0 ? fmt->out_size : 0);
	free(in);
	free(out);
}

static void handle_reply(struct crt_context *ctx, const struct crt_hdr *h, const uint8_t *p)
{
	struct crt_rpc **pp, *rpc = NULL;
	int status = h->status;

	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->inflight; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->id == h->rpc_id) {
			rpc = *pp;
			*pp = rpc->next;
			break;
		}
	pthread_mutex_unlock(&ctx->lock);
	if (rpc == NULL)
		return; /* late reply to a timed-out or canceled rpc */
	if (rpc->opc != h->opc) {
		status = -DER_PROTO;
	} else if (status == 0 && rpc->child_of != NULL) {
		/* a collective child: hand the raw payload to corpc_child_cb */
		uint8_t *buf = malloc(h->payload_len + 1);

		if (buf == NULL) {
			status = -DER_NOMEM;
		} else {
			memcpy(buf, p, h->payload_len);
			free(rpc->out);
			rpc->out = buf;
			rpc->nfail = h->payload_len;
		}
	} else if (status == 0) {
		if (h->payload_len != rpc->fmt->out_size)
			status = -DER_PROTO;
		else
			memcpy(rpc->out, p, h->payload_len);
	}
	finish(rpc, status);
}

static void handle_msg(struct crt_context *ctx, struct qmsg *m)
{
	struct crt_hdr h;

	if (crt_hdr_decode(m->data, m->len, &h, NULL) != 0)
		return; /* checked at routing */
	if (m->bad_tag) {
		reply_status(ctx->t, &h, -DER_BAD_TARGET, NULL, 0);
		return;
	}
	if (h.flags & CRT_FLAG_REQ)
		handle_request(ctx, &h, m->data + CRT_HDR_LEN);
	else
		handle_reply(ctx, &h, m->data + CRT_HDR_LEN);
}

static void enqueue(struct crt_context *ctx, const uint8_t *msg, size_t len, int bad_tag)
{
	struct qmsg *m = malloc(sizeof(*m) + len);

	if (m == NULL) {
		D_ERROR("crt: out of memory: message dropped");
		return;
	}
	m->next = NULL;
	m->len = len;
	m->bad_tag = bad_tag;
	memcpy(m->data, msg, len);
	pthread_mutex_lock(&ctx->lock);
	if (ctx->qtail)
		ctx->qtail->next = m;
	else
		ctx->qhead = m;
	ctx->qtail = m;
	pthread_mutex_unlock(&ctx->lock);
	wake(ctx);
}

/* Called by the fabric layer for each received message: check, then route to a context. */
static void on_recv(void *arg, const uint8_t *msg, size_t len)
{
	struct crt_transport *t = arg;
	struct crt_hdr h;
	const char *why = "";
	int rc = crt_hdr_decode(msg, len, &h, &why);

	if (rc != 0) {
		D_WARN("crt: dropped a %zu-byte message: %s", len, why);
		return;
	}
	if (h.tag >= t->nctx) {
		/* requests get an answer from the system context; stray replies are dropped */
		if (h.flags & CRT_FLAG_REQ)
			enqueue(&t->ctx[0], msg, len, 1);
		return;
	}
	enqueue(&t->ctx[h.tag], msg, len, 0);
}

static void on_send_err(void *arg, uint64_t cookie, int rc)
{
	struct crt_transport *t = arg;
	unsigned idx = (unsigned)(cookie >> 48);
	uint64_t id = cookie & 0xFFFFFFFFFFFFull;
	struct crt_context *ctx;

	if (id == 0 || idx >= (unsigned)t->nctx)
		return; /* a reply: the requester times out */
	ctx = &t->ctx[idx];
	pthread_mutex_lock(&ctx->lock);
	for (struct crt_rpc *r = ctx->inflight; r != NULL; r = r->next)
		if (r->id == id) {
			D_WARN("crt: request 0x%08x to rank %u failed in the fabric: %s", r->opc,
			       r->rank, strerror(-rc));
			force_locked(r, -DER_UNREACH);
		}
	pthread_mutex_unlock(&ctx->lock);
	wake(ctx);
}

/* ---- progress ---- */

/* Complete what expired or was forced; returns ms to the next deadline (capped). */
static int expire(struct crt_context *ctx)
{
	int64_t now = now_ms(), next = now + IDLE_POLL_MS;

	for (;;) {
		struct crt_rpc **pp, *due = NULL;

		pthread_mutex_lock(&ctx->lock);
		for (pp = &ctx->inflight; *pp != NULL; pp = &(*pp)->next)
			if ((*pp)->deadline <= now) {
				due = *pp;
				*pp = due->next;
				break;
			} else if ((*pp)->deadline < next) {
				next = (*pp)->deadline;
			}
		pthread_mutex_unlock(&ctx->lock);
		if (due == NULL)
			break;
		if (due->forced == 0 && fab_send_withdraw(ctx->t->ep, cookie_of(due))) {
			/* the fabric never connected to the peer: it did not even get the request */
			D_WARN("crt: request 0x%08x to rank %u: no fabric connection to %s after %d ms",
			       due->opc, due->rank, due->rank == CRT_NIL_RANK ? "its address"
			       : "the rank", due->timeout_ms);
			due->forced = -DER_UNREACH;
		} else if (due->forced == 0) {
			D_WARN("crt: request 0x%08x to rank %u timed out after %d ms", due->opc,
			       due->rank, due->timeout_ms);
		}
		finish(due, due->forced ? due->forced : -DER_TIMEDOUT);
		/* the callback may have sent more: scan again */
		now = now_ms();
		next = now + IDLE_POLL_MS;
	}
	return next > now ? (int)(next - now) : 0;
}

int crt_progress(struct crt_context *ctx, int timeout_ms)
{
	struct crt_transport *t = ctx->t;
	struct qmsg *q;
	struct crt_rpc *starts;
	uint64_t cnt;
	int wait_ms = expire(ctx);

	if (timeout_ms < wait_ms)
		wait_ms = timeout_ms;
	pthread_mutex_lock(&ctx->lock);
	if (ctx->qhead != NULL || ctx->starts != NULL)
		wait_ms = 0;
	pthread_mutex_unlock(&ctx->lock);
	if (ctx->idx == 0) {
		fab_progress(t->ep, wait_ms, ctx->efd);
	} else if (wait_ms > 0) {
		struct pollfd pfd = {.fd = ctx->efd, .events = POLLIN};

		poll(&pfd, 1, wait_ms);
	}
	if (read(ctx->efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: no wake-up was pending */
	}
	pthread_mutex_lock(&ctx->lock);
	q = ctx->qhead;
	ctx->qhead = ctx->qtail = NULL;
	starts = ctx->starts;
	ctx->starts = NULL;
	pthread_mutex_unlock(&ctx->lock);
	while (starts != NULL) {
		struct crt_rpc *r = starts;

		starts = r->next;
		corpc_start(r);
	}
	while (q != NULL) {
		struct qmsg *m = q;

		q = m->next;
		handle_msg(ctx, m);
		free(m);
	}
	expire(ctx);
	return 0;
}

static void *ctx_main(void *arg)
{
	struct crt_context *ctx = arg;

	while (!__atomic_load_n(&ctx->t->stopping, __ATOMIC_SEQ_CST))
		crt_progress(ctx, IDLE_POLL_MS);
	return NULL;
}

/* ---- transport ---- */

/* The context's nodes (<metric>/ctx_<n>), created with the transport, off the RPC path. */
static void ctx_tm_create(const struct crt_transport *t, struct crt_context *ctx)
{
	char c[32];

	snprintf(c, sizeof(c), "ctx_%d", ctx->idx);
	ctx->tm.sent = tm_node(t, DSS_TM_COUNTER, "req_sent", c,
			       "RPC requests sent from this context", "reqs");
	ctx->tm.recv = tm_node(t, DSS_TM_COUNTER, "req_recv", c,
			       "RPC requests received by this context", "reqs");
	ctx->tm.timeout = tm_node(t, DSS_TM_COUNTER, "req_timeout", c,
				  "Total number of timed out RPC requests", "reqs");
	ctx->tm.latency = tm_node(t, DSS_TM_DURATION, "req_latency", c,
				  "RPC round trip of requests sent from this context", "ns");
}

int crt_transport_create(const struct crt_transport_opts *o, struct crt_transport **out,
			 char *err, size_t errlen)
{
	struct crt_transport *t;
	struct in_addr a;
	char ip[INET_ADDRSTRLEN];
	struct timespec ts;
	int rc;

	*out = NULL;
	if (o->nctx < 1 || o->nctx > CRT_MAX_CTX) {
		snprintf(err, errlen, "%d RPC contexts requested: 1..%d are supported (fewer "
			 "targets)", o->nctx, CRT_MAX_CTX);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t) + (size_t)o->nctx * sizeof(struct crt_context));
	if (t == NULL) {
		snprintf(err, errlen, "out of memory creating the RPC transport");
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->nctx = o->nctx;
	t->user = o->user;
	t->group_refresh = o->group_refresh;
	t->self = CRT_NIL_RANK;
	t->sys_id = o->system && o->system[0] ? crt_sys_id(o->system) : 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* ids differ across restarts, so a stale reply never matches a new request */
	t->next_id = ((uint64_t)ts.tv_sec << 20 ^ (uint64_t)ts.tv_nsec) & 0xFFFFFFFFFFull;
	for (int i = 0; i < o->nctx; i++) {
		t->ctx[i].t = t;
		t->ctx[i].idx = i;
		t->ctx[i].efd = -1;
		pthread_mutex_init(&t->ctx[i].lock, NULL);
	}
	for (int i = 0; i < o->nctx; i++) {
		t->ctx[i].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->ctx[i].efd < 0) {
			rc = -errno;
			snprintf(err, errlen, "eventfd for RPC context %d: %s", i, strerror(errno));
			goto fail;
		}
	}
	rc = fab_open(&o->fab, on_recv, on_send_err, t, &t->ep, err, errlen);
	if (rc != 0)
		goto fail;
	fab_addr(t->ep, &t->ip, &t->port);
	a.s_addr = t->ip;
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(t->uri, sizeof(t->uri), "%s://%s:%u", o->fab.scheme, ip, t->port);
	snprintf(t->scheme, sizeof(t->scheme), "%s", o->fab.scheme);
	for (int i = 0; i < o->nctx; i++)
		ctx_tm_create(t, &t->ctx[i]);
	if (o->threads) {
		for (int i = 0; i < o->nctx; i++) {
			rc = -pthread_create(&t->ctx[i].thread, NULL, ctx_main, &t->ctx[i]);
			if (rc != 0) {
				snprintf(err, errlen, "cannot start RPC context thread %d: %s", i,
					 strerror(-rc));
				goto fail;
			}
			t->ctx[i].has_thread = 1;
		}
	}
	*out = t;
	return 0;
fail:
	crt_transport_destroy(t);
	return rc;
}

void crt_transport_destroy(struct crt_transport *t)
{
	if (t == NULL)
		return;
	__atomic_store_n(&t->stopping, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < t->nctx; i++)
		if (t->ctx[i].has_thread) {
			wake(&t->ctx[i]);
			pthread_join(t->ctx[i].thread, NULL);
			t->ctx[i].has_thread = 0;
		}
	/* what is still in flight completes canceled, on this (now the only) thread */
	for (int i = 0; i < t->nctx; i++) {
		struct crt_context *ctx = &t->ctx[i];

		pthread_mutex_lock(&ctx->lock);
		for (struct crt_rpc *r = ctx->inflight; r; r = r->next)
			force_locked(r, -DER_CANCELED);
		pthread_mutex_unlock(&ctx->lock);
	}
	for (int i = 0; i < t->nctx; i++) {
		struct crt_context *ctx = &t->ctx[i];

		/* collectives queued to start, then the forced rpcs, then inner nodes' children */
		for (int round = 0; round < 4; round++) {
			struct crt_rpc *s;

			pthread_mutex_lock(&ctx->lock);
			s = ctx->starts;
			ctx->starts = NULL;
			pthread_mutex_unlock(&ctx->lock);
			while (s) {
				struct crt_rpc *n = s->next;

				finish(s, -DER_CANCELED);
				s = n;
			}
			pthread_mutex_lock(&ctx->lock);
			for (struct crt_rpc *r = ctx->inflight; r; r = r->next)
				force_locked(r, -DER_CANCELED);
			pthread_mutex_unlock(&ctx->lock);
			expire(ctx);
		}
	}
	/* closing drains the last sends; what arrives meanwhile is dropped with the queues */
	fab_close(t->ep);
	for (int i = 0; i < t->nctx; i++) {
		while (t->ctx[i].qhead) {
			struct qmsg *m = t->ctx[i].qhead;

			t->ctx[i].qhead = m->next;
			free(m);
		}
		if (t->ctx[i].efd >= 0)
			close(t->ctx[i].efd);
		pthread_mutex_destroy(&t->ctx[i].lock);
	}
	free(t->members);
	for (int i = 0; i < t->nprotos; i++)
		free(t->optm[i]);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

const char *crt_transport_uri(const struct crt_transport *t)
{
	return t->uri;
}

struct crt_context *crt_context_get(struct crt_transport *t, int idx)
{
	return idx >= 0 && idx < t->nctx ? &t->ctx[idx] : NULL;
}

int crt_context_idx(const struct crt_context *ctx)
{
	return ctx->idx;
}
