/* IV over the RPC layer (see iv_engine.h). */
#include "iv_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "byteorder.h"
#include "engine_internal.h"
#include "log.h"
#include "tree.h"

struct out_msg {
	uint32_t dst;
	size_t len;
	uint8_t *buf;
};

struct ive_class {
	uint32_t id;
	struct iv_class_ops ops;
	void *arg;
};

struct ive {
	struct crt_transport *t;
	struct crt_context *ctx; /* context 0: serves and sends IV messages */
	uint32_t leader_opt;
	unsigned fanout;
	uint32_t timeout_ms;
	uint64_t incarnation;

	pthread_mutex_t lock; /* everything below; iv.c runs under it */
	pthread_cond_t cond;  /* a local waiter completed, or the ticker must wake */
	struct iv_ns *ns;     /* NULL until the transport knows its rank */
	uint32_t self;
	struct ive_class classes[IV_MAX_CLASSES];
	size_t nclasses;
	/* tree snapshot taken before each namespace call */
	uint32_t *members;
	size_t nmembers;
	uint32_t root;
	/* messages queued by ops->send, sent once the lock is dropped */
	struct out_msg *out;
	size_t nout, capout;
	int stopping;
	pthread_t ticker;
	struct ive *next; /* registry */
	int users;        /* references taken by handlers and callbacks (reg_lock) */
};

/* The input of both RPCs: this header, then len bytes of IV message in a fixed-size area. */
struct wire_hdr {
	uint64_t incarnation;
	uint32_t len;
	uint32_t pad;
};

struct wire_in {
	struct wire_hdr h;
	uint8_t msg[IVE_WIRE_MAX];
};

/* Most IV messages (fetches, replies without a value, small values) fit this one. */
struct wire_in_small {
	struct wire_hdr h;
	uint8_t msg[IVE_WIRE_SMALL];
};

struct wire_out {
	int32_t rc;
	uint32_t pad;
};

_Static_assert(sizeof(struct wire_hdr) == IVE_WIRE_HDR, "wire header");
_Static_assert(sizeof(struct wire_in) == IVE_WIRE_HDR + IVE_WIRE_MAX, "one IV message per RPC");
_Static_assert(sizeof(struct wire_in_small) == IVE_WIRE_HDR + IVE_WIRE_SMALL, "small message");

/* The namespaces by context 0 of their transport: the handler finds its own from ri->ctx. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cond = PTHREAD_COND_INITIALIZER; /* users dropped to 0 */
static struct ive *reg_head;
/*
 * The context this thread serves IV messages for (set on the context's thread by the handler
 * and the send callbacks): a blocking call there would wait for a reply only it can receive.
 */
static __thread struct crt_context *served_ctx;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- tree */

static uint32_t ops_parent_of(void *arg, uint32_t rank)
{
	struct ive *ive = arg;
	uint32_t parent;

	if (crt_tree_parent(ive->members, ive->nmembers, ive->root, ive->fanout, rank,
			    &parent) != 0)
		return IV_RANK_NONE; /* the root, or not in the map: nowhere to forward */
	return parent;
}

static size_t ops_children_of(void *arg, uint32_t rank, uint32_t *out, size_t max)
{
	struct ive *ive = arg;
	int n = crt_tree_children(ive->members, ive->nmembers, ive->root, ive->fanout, rank, out,
				  max);

	return n > 0 ? (size_t)n : 0;
}

static int ops_send(void *arg, uint32_t dst, const uint8_t *buf, size_t len)
{
	struct ive *ive = arg;
	struct out_msg *o;

	if (len > IVE_WIRE_MAX)
		return -EMSGSIZE;
	if (ive->nout == ive->capout) {
		size_t cap = ive->capout ? ive->capout * 2 : 16;

		o = realloc(ive->out, cap * sizeof(*o));
		if (o == NULL)
			return -ENOMEM;
		ive->out = o;
		ive->capout = cap;
	}
	o = &ive->out[ive->nout];
	o->buf = malloc(len);
	if (o->buf == NULL)
		return -ENOMEM;
	memcpy(o->buf, buf, len);
	o->len = len;
	o->dst = dst;
	ive->nout++;
	return 0;
}

static const struct iv_ops ive_ops = {
	.send = ops_send, .parent_of = ops_parent_of, .children_of = ops_children_of,
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Both self and the root are in the map: otherwise there is no tree to use (a fixed leader
 * that left the map must not turn every rank into a root answering from its own source). */
static int in_tree(const struct ive *ive, uint32_t self)
{
	return ive->nmembers > 0 &&
	       bsearch(&self, ive->members, ive->nmembers, sizeof(self), cmp_u32) != NULL &&
	       bsearch(&ive->root, ive->members, ive->nmembers, sizeof(self), cmp_u32) != NULL;
}

/*
 * Takes the map from the transport (outside the lock: the group hook may take engine locks)
 * and, under ive->lock, installs the tree and (re)creates the namespace for our rank. Returns
 * with ive->lock held; 0, or -EAGAIN (no rank yet), -ENOTCONN (the namespace exists but this
 * rank or the leader is not in the map), -ENOMEM; the lock held in every case.
 */
static int lock_sync(struct ive *ive)
{
	uint32_t self, version, *ranks;
	size_t n;
	int rc = 0;

	ranks = malloc(IVE_MAX_RANKS * sizeof(*ranks));
	n = ranks ? crt_group_ranks(ive->t, &self, &version, ranks, IVE_MAX_RANKS) : 0;
	if (n > IVE_MAX_RANKS)
		n = IVE_MAX_RANKS;
	pthread_mutex_lock(&ive->lock);
	if (ranks == NULL)
		return -ENOMEM;
	free(ive->members);
	ive->members = ranks;
	ive->nmembers = n;
	if (ive->leader_opt == IVE_LEADER_LOWEST)
		ive->root = n > 0 ? ranks[0] : IV_RANK_NONE;
	else
		ive->root = ive->leader_opt;
	if (self == CRT_NIL_RANK)
		return -EAGAIN;
	if (ive->ns != NULL && ive->self == self)
		return in_tree(ive, self) ? 0 : -ENOTCONN;
	if (ive->ns != NULL) {
		D_INFO("IV: rank changed %u -> %u, namespace restarts empty", ive->self, self);
		iv_fini(ive->ns); /* local waiters get -ECANCELED */
		ive->ns = NULL;
	}
	rc = iv_init(&ive->ns, self, &ive_ops, ive, ive->timeout_ms);
	if (rc != 0)
		return rc;
	iv_set_req_id_base(ive->ns, ive->incarnation << 32);
	ive->self = self;
	for (size_t i = 0; i < ive->nclasses; i++)
		(void)iv_class_register(ive->ns, ive->classes[i].id, &ive->classes[i].ops,
					ive->classes[i].arg);
	pthread_cond_broadcast(&ive->cond); /* the ticker has a namespace to tick now */
	return in_tree(ive, self) ? 0 : -ENOTCONN;
}

static void send_cb(struct crt_rpc *rpc, int status, void *arg);

/* What a send's callback needs: whose message and its bytes. */
struct sent {
	struct ive *ive;
	size_t len;
	uint8_t buf[];
};

/* Drops the lock and sends what the namespace queued. */
static void unlock_flush(struct ive *ive)
{
	struct out_msg *out = ive->out;
	size_t n = ive->nout;

	ive->out = NULL;
	ive->nout = ive->capout = 0;
	pthread_mutex_unlock(&ive->lock);
	for (size_t i = 0; i < n; i++) {
		struct sent *s = malloc(sizeof(*s) + out[i].len);
		uint32_t opc = out[i].len <= IVE_WIRE_SMALL ? IVE_OPC_MSG_SMALL : IVE_OPC_MSG;
		struct crt_rpc *rpc;
		struct wire_hdr *in;

		if (s == NULL || crt_req_create(ive->ctx, out[i].dst, 0, opc, &rpc) != 0) {
			free(s);
			free(out[i].buf);
			continue; /* no memory: the request times out */
		}
		s->ive = ive;
		s->len = out[i].len;
		memcpy(s->buf, out[i].buf, out[i].len);
		free(out[i].buf);
		in = crt_req_input(rpc);
		in->incarnation = ive->incarnation;
		in->len = (uint32_t)s->len;
		memcpy((uint8_t *)in + IVE_WIRE_HDR, s->buf, s->len);
		crt_req_set_timeout(rpc, (int)ive->timeout_ms);
		if (crt_req_send(rpc, send_cb, s) != 0)
			free(s);
		crt_req_decref(rpc);
	}
	free(out);
}

/* Takes a reference on a registered namespace (NULL once it is being destroyed). */
static struct ive *ive_get(struct crt_context *ctx, struct ive *want)
{
	struct ive *i;

	pthread_mutex_lock(&reg_lock);
	for (i = reg_head; i != NULL; i = i->next)
		if (want != NULL ? i == want : i->ctx == ctx)
			break;
	if (i != NULL)
		i->users++;
	pthread_mutex_unlock(&reg_lock);
	return i;
}

static void ive_put(struct ive *ive)
{
	pthread_mutex_lock(&reg_lock);
	if (--ive->users == 0)
		pthread_cond_broadcast(&reg_cond);
	pthread_mutex_unlock(&reg_lock);
}

/*
 * The transport could not deliver a message. A FETCH or UPDATE would otherwise wait for its
 * timeout: answer it now, as if the destination had replied with the error (iv.c matches the
 * reply to its request by id, destination and key).
 */
static void send_cb(struct crt_rpc *rpc, int status, void *arg)
{
	struct sent *s = arg;
	struct ive *ive;
	struct iv_msg m, r;
	uint8_t reply[IV_MSG_HDR_SIZE + IV_KEY_MAX];
	size_t rlen;

	(void)rpc;
	if (status == 0 || iv_msg_decode(s->buf, s->len, &m) != 0 ||
	    (m.type != IV_MSG_FETCH && m.type != IV_MSG_UPDATE) ||
	    (ive = ive_get(NULL, s->ive)) == NULL) {
		free(s);
		return;
	}
	r = (struct iv_msg){.type = m.type == IV_MSG_FETCH ? IV_MSG_FETCH_REPLY
							    : IV_MSG_UPDATE_REPLY,
			    .class_id = m.class_id, .req_id = m.req_id,
			    .status = status == -DER_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH,
			    .version = m.type == IV_MSG_FETCH ? 0 : m.version,
			    .key_len = m.key_len, .key = m.key};
	D_DEBUG("IV: %s to rank %u failed (%d): completing it with %d",
		m.type == IV_MSG_FETCH ? "fetch" : "update", crt_req_rank(rpc), status, r.status);
	if (iv_msg_encode(&r, reply, sizeof(reply), &rlen) == 0) {
		served_ctx = ive->ctx;
		pthread_mutex_lock(&ive->lock);
		if (ive->ns != NULL)
			(void)iv_recv(ive->ns, crt_req_rank(rpc), reply, rlen, now_ms());
		unlock_flush(ive);
	}
	free(s);
	ive_put(ive);
}

/* ---------------------------------------------------------------- handler */

static int wire_check(const void *in)
{
	const struct wire_hdr *w = in;

	return w->pad == 0 && w->len >= IV_MSG_HDR_SIZE && w->len <= IVE_WIRE_MAX ? 0 : -1;
}

static int wire_check_small(const void *in)
{
	const struct wire_hdr *w = in;

	return w->pad == 0 && w->len >= IV_MSG_HDR_SIZE && w->len <= IVE_WIRE_SMALL ? 0 : -1;
}

static int h_iv_msg(const struct crt_req_info *ri, const void *in, void *out)
{
	const struct wire_hdr *w = in;
	struct ive *ive;
	int rc;

	(void)out;
	if (ri->src_rank == CRT_NIL_RANK)
		return -DER_OOG; /* IV is between members of the group */
	served_ctx = ri->ctx;
	ive = ive_get(ri->ctx, NULL);
	if (ive == NULL)
		return -DER_UNREG; /* the protocol outlived its namespace */
	rc = lock_sync(ive);
	if (rc == 0) {
		rc = iv_recv(ive->ns, ri->src_rank, (const uint8_t *)in + IVE_WIRE_HDR, w->len,
			     now_ms());
		if (rc == -ENOENT)
			rc = 0; /* a late reply: its request completed already */
	}
	unlock_flush(ive);
	ive_put(ive);
	if (rc == -EAGAIN || rc == -ENOTCONN)
		return -DER_UNREACH; /* no rank yet, or out of the map: the sender's request fails */
	return rc == 0 ? 0 : -DER_INVAL;
}

static void agg_none(void *acc, const void *child)
{
	(void)acc;
	(void)child;
}

static const struct crt_proto_rpc_format ive_rpcs[] = {
	{"iv_msg", sizeof(struct wire_in), sizeof(struct wire_out), wire_check, h_iv_msg,
	 agg_none},
	{"iv_msg_small", sizeof(struct wire_in_small), sizeof(struct wire_out), wire_check_small,
	 h_iv_msg, agg_none},
};
static const struct crt_proto_format ive_proto = {
	.name = "iv", .version = 1, .count = 2, .rpcs = ive_rpcs, .base = IVE_OPC_BASE,
};

/* ---------------------------------------------------------------- ticker */

static void *ticker_main(void *arg)
{
	struct ive *ive = arg;

	pthread_mutex_lock(&ive->lock);
	while (!ive->stopping) {
		uint64_t now = now_ms(), next = now + 200, wake;
		struct timespec ts;

		if (ive->ns != NULL) {
			wake = iv_tick(ive->ns, now);
			if (wake < next)
				next = wake;
			if (ive->nout > 0) { /* timed-out forwards answer the children */
				unlock_flush(ive);
				pthread_mutex_lock(&ive->lock);
				continue;
			}
		}
		if (next <= now)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)((next - now) / 1000);
		ts.tv_nsec += (long)((next - now) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ive->cond, &ive->lock, &ts);
	}
	pthread_mutex_unlock(&ive->lock);
	return NULL;
}

/* ---------------------------------------------------------------- API */

int ive_create(const struct ive_opts *o, struct ive **out)
{
	pthread_condattr_t ca;
	struct ive *ive, *i;
	int rc;

	*out = NULL;
	if (o == NULL || o->t == NULL || o->fanout < 1 || o->fanout > CRT_TREE_MAX_K ||
	    o->timeout_ms == 0 || o->timeout_ms > INT32_MAX || o->leader == IV_RANK_NONE)
		return -EINVAL;
	ive = calloc(1, sizeof(*ive));
	if (ive == NULL)
		return -ENOMEM;
	ive->t = o->t;
	ive->ctx = crt_context_get(o->t, 0);
	ive->leader_opt = o->leader;
	ive->fanout = o->fanout;
	ive->timeout_ms = o->timeout_ms;
	ive->incarnation = o->incarnation;
	ive->root = IV_RANK_NONE;
	pthread_mutex_init(&ive->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ive->cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&reg_lock);
	for (i = reg_head; i != NULL && i->ctx != ive->ctx; i = i->next)
		;
	if (i != NULL) {
		pthread_mutex_unlock(&reg_lock);
		rc = -EEXIST;
		goto fail;
	}
	/* a namespace made again on the same transport finds its protocol registered */
	rc = crt_proto_register(o->t, &ive_proto);
	if (rc != 0 && rc != -EEXIST) {
		pthread_mutex_unlock(&reg_lock);
		goto fail;
	}
	rc = -pthread_create(&ive->ticker, NULL, ticker_main, ive);
	if (rc != 0) {
		pthread_mutex_unlock(&reg_lock);
		goto fail;
	}
	ive->next = reg_head;
	reg_head = ive;
	pthread_mutex_unlock(&reg_lock);
	*out = ive;
	return 0;
fail:
	pthread_cond_destroy(&ive->cond);
	pthread_mutex_destroy(&ive->lock);
	free(ive);
	return rc;
}

void ive_destroy(struct ive *ive)
{
	struct ive **pp;

	if (ive == NULL)
		return;
	/* no new handler or callback finds it; wait for those inside */
	pthread_mutex_lock(&reg_lock);
	for (pp = &reg_head; *pp != NULL && *pp != ive; pp = &(*pp)->next)
		;
	if (*pp != NULL)
		*pp = ive->next;
	while (ive->users > 0)
		pthread_cond_wait(&reg_cond, &reg_lock);
	pthread_mutex_unlock(&reg_lock);

	pthread_mutex_lock(&ive->lock);
	ive->stopping = 1;
	pthread_cond_broadcast(&ive->cond);
	pthread_mutex_unlock(&ive->lock);
	pthread_join(ive->ticker, NULL);

	pthread_mutex_lock(&ive->lock);
	iv_fini(ive->ns); /* local waiters: -ECANCELED */
	ive->ns = NULL;
	for (size_t i = 0; i < ive->nout; i++)
		free(ive->out[i].buf);
	pthread_mutex_unlock(&ive->lock);
	free(ive->out);
	free(ive->members);
	pthread_cond_destroy(&ive->cond);
	pthread_mutex_destroy(&ive->lock);
	free(ive);
}

int ive_class_register(struct ive *ive, uint32_t class_id, const struct iv_class_ops *ops,
		       void *arg)
{
	int rc = 0;

	if (ive == NULL || ops == NULL)
		return -EINVAL;
	pthread_mutex_lock(&ive->lock);
	for (size_t i = 0; i < ive->nclasses; i++)
		if (ive->classes[i].id == class_id)
			rc = -EEXIST;
	if (rc == 0 && ive->nclasses >= IV_MAX_CLASSES)
		rc = -ENOSPC;
	if (rc == 0 && ive->ns != NULL)
		rc = iv_class_register(ive->ns, class_id, ops, arg);
	if (rc == 0)
		ive->classes[ive->nclasses++] = (struct ive_class){class_id, *ops, arg};
	pthread_mutex_unlock(&ive->lock);
	return rc;
}

/* A blocking call's completion, filled by the namespace's callback under ive->lock. */
struct waiter {
	struct ive *ive;
	int done;
	int rc;
	void *buf;
	size_t cap;
	size_t len;
	uint64_t version;
};

static void fetch_done(void *arg, int rc, const uint8_t *val, size_t len, uint64_t version)
{
	struct waiter *w = arg;

	w->rc = rc;
	if (rc == 0) {
		w->len = len;
		w->version = version;
		if (len > w->cap)
			w->rc = -ENOBUFS;
		else if (len > 0)
			memcpy(w->buf, val, len);
	}
	w->done = 1;
	pthread_cond_broadcast(&w->ive->cond);
}

static void update_done(void *arg, int rc, uint64_t version)
{
	struct waiter *w = arg;

	w->rc = rc;
	w->version = version;
	w->done = 1;
	pthread_cond_broadcast(&w->ive->cond);
}

enum op { OP_FETCH, OP_UPDATE, OP_INVALIDATE };

/* Starts op in the namespace and waits for its completion (bounded by the namespace timeout). */
static int run(struct ive *ive, enum op op, uint32_t cls, const void *key, size_t klen,
	       const void *val, size_t vlen, uint64_t version, struct waiter *w)
{
	int rc;

	if (ive == NULL || key == NULL || klen == 0 || klen > IV_KEY_MAX)
		return -EINVAL;
	if (served_ctx != NULL && served_ctx == ive->ctx)
		return -EDEADLK;
	if (op == OP_UPDATE && vlen > IVE_VALUE_MAX)
		return -EMSGSIZE;
	w->ive = ive;
	rc = lock_sync(ive);
	if (rc == 0) {
		uint64_t now = now_ms();

		if (op == OP_FETCH)
			rc = iv_fetch(ive->ns, cls, key, klen, fetch_done, w, now);
		else if (op == OP_UPDATE)
			rc = iv_update(ive->ns, cls, key, klen, val, vlen, version, update_done, w,
				       now);
		else
			rc = iv_invalidate(ive->ns, cls, key, klen, version, update_done, w, now);
	}
	unlock_flush(ive);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&ive->lock);
	while (!w->done)
		pthread_cond_wait(&ive->cond, &ive->lock);
	pthread_mutex_unlock(&ive->lock);
	return w->rc;
}

int ive_fetch(struct ive *ive, uint32_t class_id, const void *key, size_t klen, void *buf,
	      size_t cap, size_t *len, uint64_t *version)
{
	struct waiter w = {.buf = buf, .cap = cap};
	int rc = run(ive, OP_FETCH, class_id, key, klen, NULL, 0, 0, &w);

	if (rc == 0 || rc == -ENOBUFS) {
		if (len)
			*len = w.len;
		if (version)
			*version = w.version;
	}
	return rc;
}

int ive_update(struct ive *ive, uint32_t class_id, const void *key, size_t klen,
	       const void *val, size_t len, uint64_t version)
{
	struct waiter w = {0};

	return run(ive, OP_UPDATE, class_id, key, klen, val, len, version, &w);
}

int ive_invalidate(struct ive *ive, uint32_t class_id, const void *key, size_t klen,
		   uint64_t version)
{
	struct waiter w = {0};

	return run(ive, OP_INVALIDATE, class_id, key, klen, NULL, 0, version, &w);
}

int ive_cache_get(struct ive *ive, uint32_t class_id, const void *key, size_t klen,
		  void *buf, size_t cap, size_t *len, uint64_t *version)
{
	const uint8_t *v;
	size_t l;
	uint64_t ver;
	int rc;

	if (ive == NULL || key == NULL || klen == 0 || klen > IV_KEY_MAX)
		return -EINVAL;
	rc = lock_sync(ive);
	if (rc == 0 || (rc == -ENOTCONN && ive->ns != NULL))
		rc = iv_cache_get(ive->ns, class_id, key, klen, &v, &l, &ver);
	if (rc == 0) {
		if (len)
			*len = l;
		if (version)
			*version = ver;
		if (l > cap)
			rc = -ENOBUFS;
		else if (l > 0)
			memcpy(buf, v, l);
	}
	pthread_mutex_unlock(&ive->lock);
	return rc;
}

void ive_stats(struct ive *ive, struct iv_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ive->lock);
	if (ive->ns != NULL)
		iv_stats_get(ive->ns, out);
	pthread_mutex_unlock(&ive->lock);
}

uint32_t ive_leader(struct ive *ive)
{
	uint32_t root;
	int rc = lock_sync(ive);

	(void)rc;
	root = ive->root;
	pthread_mutex_unlock(&ive->lock);
	return root;
}

/* ---------------------------------------------------------------- engine */

DSS_API int dss_iv_class_register(struct dss_engine *eng, uint32_t class_id,
				  const struct iv_class_ops *ops, void *arg)
{
	return eng == NULL || eng->iv == NULL ? -EAGAIN
					      : ive_class_register(eng->iv, class_id, ops, arg);
}

DSS_API int dss_iv_fetch(struct dss_engine *eng, uint32_t class_id, const void *key,
			 size_t klen, void *buf, size_t cap, size_t *len, uint64_t *version)
{
	return eng == NULL || eng->iv == NULL
		       ? -EAGAIN
		       : ive_fetch(eng->iv, class_id, key, klen, buf, cap, len, version);
}

DSS_API int dss_iv_update(struct dss_engine *eng, uint32_t class_id, const void *key,
			  size_t klen, const void *val, size_t len, uint64_t version)
{
	return eng == NULL || eng->iv == NULL
		       ? -EAGAIN
		       : ive_update(eng->iv, class_id, key, klen, val, len, version);
}

DSS_API int dss_iv_invalidate(struct dss_engine *eng, uint32_t class_id, const void *key,
			      size_t klen, uint64_t version)
{
	return eng == NULL || eng->iv == NULL
		       ? -EAGAIN
		       : ive_invalidate(eng->iv, class_id, key, klen, version);
}
