/* SWIM in the engine: the swim thread, the SWIM protocol, map membership, RAS swim_rank_dead. */
#include "swim_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crt.h"
#include "engine_internal.h"
#include "log.h"
#include "notify.h"
#include "telemetry.h"

#define OPC_SWIM	  CRT_PROTO_OPC(CRT_OPC_SWIM_BASE, 1, 0)
#define SWIM_IDLE_MS	  50u  /* longest sleep: also how soon a new map is seen */
#define INBOX_MAX	  4096 /* queued messages beyond this are dropped (counted as lost) */
#define EVENT_QUEUE_MAX	  256
#define EVENT_ATTEMPTS	  5
#define PEER_SLOTS	  1024 /* reply tracking, by rank modulo (collisions only blur it) */
#define PEER_FRESH_MS	  5000 /* replies older than this are not counted */

/* The request: one encoded swim message (fixed size for the RPC layer, len says how much). */
struct swim_rpc_in {
	uint32_t len;
	uint8_t buf[SWIM_MSG_MAX_SIZE];
};

struct swim_rpc_out {
	int32_t rc;
};

struct msg {
	struct msg *next;
	uint32_t rank; /* source (inbox) or destination (outbox) */
	uint32_t len;
	uint8_t buf[SWIM_MSG_MAX_SIZE];
};

struct death {
	uint32_t rank;
	uint64_t inc;
	enum swim_dead_reason reason;
};

/* The last reply a peer gave our SWIM messages: answered, or out of group (not in its map). */
struct peer_reply {
	uint32_t rank;
	int oog;
	uint64_t at_ms;
};

struct dss_swim {
	struct dss_engine *eng;
	pthread_t thread, ras_thread;
	int thread_started, ras_started;
	int stop; /* under lock */

	pthread_mutex_t lock; /* inbox, events, stop, the readable copies below */
	pthread_cond_t cond;	 /* inbox or stop */
	pthread_cond_t ras_cond; /* events or stop */
	struct msg *inbox, **inbox_tail;
	size_t ninbox;
	struct death events[EVENT_QUEUE_MAX];
	size_t nevents;

	/* swim thread only */
	struct swim_ctx *ctx;
	uint32_t self;
	uint32_t synced_version;
	uint32_t *ranks; /* members as of the last map, self included */
	size_t nranks;
	struct msg *outbox, **outbox_tail;
	struct death decided[SWIM_UPDATES_MAX];
	size_t ndecided;

	struct peer_reply peers[PEER_SLOTS]; /* under lock (written by send_done) */
	uint64_t oog_since;		     /* swim thread: when most peers began answering OOG */
	int left;			     /* swim thread: self-termination started */

	/* copies readable under lock from other threads */
	struct swim_stats stats;
	int started;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int dss_swim_majority(size_t alive, size_t n)
{
	return n <= 2 || alive * 2 > n;
}

/* ---- the protocol ---- */

static int swim_in_check(const void *in)
{
	const struct swim_rpc_in *i = in;

	return i->len > 0 && i->len <= SWIM_MSG_MAX_SIZE ? 0 : -1;
}

static int h_swim(const struct crt_req_info *ri, const void *in, void *out)
{
	struct dss_engine *eng = ri->user;
	const struct swim_rpc_in *i = in;
	struct dss_swim *s;
	struct msg *m;

	(void)out;
	if (eng == NULL || (s = eng->swim) == NULL)
		return -DER_UNREACH;
	if (ri->src_rank == CRT_NIL_RANK)
		return -DER_OOG; /* SWIM is between members only */
	m = malloc(sizeof(*m));
	if (m == NULL)
		return -DER_NOMEM;
	m->next = NULL;
	m->rank = ri->src_rank;
	m->len = i->len;
	memcpy(m->buf, i->buf, i->len);
	pthread_mutex_lock(&s->lock);
	if (s->stop || s->ninbox >= INBOX_MAX) {
		int rc = s->stop ? -DER_SHUTDOWN : -DER_OVERFLOW;

		pthread_mutex_unlock(&s->lock);
		free(m);
		return rc;
	}
	*s->inbox_tail = m;
	s->inbox_tail = &m->next;
	s->ninbox++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const struct crt_proto_rpc_format swim_rpcs[] = {
	{"swim", sizeof(struct swim_rpc_in), sizeof(struct swim_rpc_out), swim_in_check, h_swim,
	 NULL},
};
static const struct crt_proto_format swim_proto = {
	.name = "swim", .version = 1, .count = 1, .rpcs = swim_rpcs, .base = CRT_OPC_SWIM_BASE,
};

/* ---- swim ops (on the swim thread, inside swim_tick/swim_recv) ---- */

static int op_send(void *arg, uint32_t dst, const uint8_t *buf, size_t len)
{
	struct dss_swim *s = arg;
	struct msg *m;

	if (len == 0 || len > SWIM_MSG_MAX_SIZE)
		return -EINVAL;
	m = malloc(sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->next = NULL;
	m->rank = dst;
	m->len = (uint32_t)len;
	memcpy(m->buf, buf, len);
	*s->outbox_tail = m;
	s->outbox_tail = &m->next;
	return 0;
}

static void op_dead(void *arg, uint32_t rank, uint64_t inc, enum swim_dead_reason reason)
{
	struct dss_swim *s = arg;

	D_ERROR("swim: rank %u (incarnation %llu) dead in rank %u's view: %s", rank,
	       (unsigned long long)inc, s->self, swim_dead_reason_str(reason));
	/* as DAOS's events/dead_ranks: one per rank death this engine saw, never decremented */
	dss_tm_gauge_add(DSS_TM_DEAD_RANKS, 1);
	dss_tm_timestamp_now(DSS_TM_LAST_EVENT_TS);
	if (s->ndecided < SWIM_UPDATES_MAX)
		s->decided[s->ndecided++] = (struct death){rank, inc, reason};
}

static void op_alive(void *arg, uint32_t rank, uint64_t inc)
{
	struct dss_swim *s = arg;

	D_WARN("swim: rank %u alive again in rank %u's view (incarnation %llu)", rank, s->self,
	       (unsigned long long)inc);
}

static void op_suspect(void *arg, uint32_t rank, uint64_t inc, uint32_t from)
{
	struct dss_swim *s = arg;

	D_INFO("swim: rank %u (incarnation %llu) suspected by rank %u (rank %u's view)", rank,
	       (unsigned long long)inc, from, s->self);
}

static void op_self_inc(void *arg, uint64_t inc)
{
	struct dss_swim *s = arg;

	D_WARN("swim: rank %u refutes a suspicion with incarnation %llu", s->self,
	       (unsigned long long)inc);
}

static const struct swim_ops ops = {
	.send = op_send, .member_dead = op_dead, .member_alive = op_alive,
	.member_suspect = op_suspect, .self_incarnation = op_self_inc,
};

/* ---- the swim thread ---- */

/* Remembers how the peer answered: a peer whose map lacks us answers -DER_OOG. */
static void send_done(struct crt_rpc *rpc, int status, void *arg)
{
	struct dss_swim *s = arg;
	uint32_t rank = crt_req_rank(rpc);

	if (status == 0 || status == -DER_OOG) {
		pthread_mutex_lock(&s->lock);
		s->peers[rank % PEER_SLOTS] = (struct peer_reply){rank, status != 0, now_ms()};
		pthread_mutex_unlock(&s->lock);
	}
	crt_req_decref(rpc);
}

/*
 * Out of the group without hearing it: the MS excluded this engine (e.g. while it was cut off)
 * and the map saying so never reached it, so it keeps running with a map that still holds it.
 * Its peers then answer its SWIM messages out-of-group. When, for a whole suspicion timeout,
 * more of the peers that recently answered say so than answer normally, the engine leaves the
 * way an engine excluded by the map does: RAS engine_self_terminated, then stop (daos_server
 * restarts it and it joins again). The suspicion timeout covers a new rank whose peers have
 * not installed the map naming it yet.
 */
static void check_out_of_group(struct dss_swim *s, uint64_t now)
{
	unsigned oog = 0, ok = 0;
	char msg[160];

	if (s->left)
		return;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < PEER_SLOTS; i++) {
		const struct peer_reply *p = &s->peers[i];

		if (p->at_ms == 0 || p->at_ms + PEER_FRESH_MS < now || p->rank == s->self)
			continue;
		oog += p->oog;
		ok += !p->oog;
	}
	pthread_mutex_unlock(&s->lock);
	if (oog < 2 || oog <= ok) {
		s->oog_since = 0;
		return;
	}
	if (s->oog_since == 0)
		s->oog_since = now;
	if (now - s->oog_since < s->eng->tun.swim_suspect_timeout_ms)
		return;
	s->left = 1;
	snprintf(msg, sizeof(msg), "rank %u out of the group: %u peers answer that it is not in "
		 "their map, %u that it is", s->self, oog, ok);
	D_ERROR("%s: self-terminating", msg);
	if (dss_notify_self_terminated(s->eng, s->self, msg) != 0)
		D_ERROR("engine_self_terminated for rank %u not acknowledged by daos_server",
			s->self);
	dss_engine_fail(s->eng, msg);
}

/* Sends what the context queued; a failed send is a lost message (SWIM copes). */
static void flush_outbox(struct dss_swim *s)
{
	struct crt_context *c0 = crt_context_get(s->eng->crt, 0);
	struct msg *m = s->outbox;

	s->outbox = NULL;
	s->outbox_tail = &s->outbox;
	while (m != NULL) {
		struct msg *next = m->next;
		struct crt_rpc *rpc;

		if (crt_req_create(c0, m->rank, 0, OPC_SWIM, &rpc) == 0) {
			struct swim_rpc_in *in = crt_req_input(rpc);

			in->len = m->len;
			memcpy(in->buf, m->buf, m->len);
			crt_req_set_timeout(rpc, (int)s->eng->tun.swim_ping_timeout_ms);
			if (crt_req_send(rpc, send_done, s) != 0)
				crt_req_decref(rpc);
		}
		free(m);
		m = next;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Follows the engine's map: creates the context once the engine has a rank the map names, then
 * adds the map's members and removes those that left it.
 */
static void sync_members(struct dss_swim *s)
{
	struct dss_engine *eng = s->eng;
	struct dss_group_member *g = NULL;
	uint32_t self, version;
	size_t n = 0;
	int in_map = 0;

	pthread_mutex_lock(&eng->lock);
	self = eng->rank;
	version = eng->group_version;
	if (eng->group != NULL && (s->ctx == NULL || version != s->synced_version)) {
		n = eng->ngroup;
		g = malloc((n ? n : 1) * sizeof(*g));
		if (g != NULL)
			memcpy(g, eng->group, n * sizeof(*g));
	}
	pthread_mutex_unlock(&eng->lock);
	if (g == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		in_map |= g[i].rank == self;
	if (s->ctx == NULL) {
		if (self == DSS_NIL_RANK || !in_map) {
			free(g);
			return;
		}
		if (swim_init(&s->ctx, self, eng->incarnation, &ops, s, &eng->tun) != 0) {
			D_ERROR("swim: cannot create the context of rank %u", self);
			free(g);
			return;
		}
		s->self = self;
		D_INFO("swim: rank %u started (incarnation %llu)", self,
		       (unsigned long long)eng->incarnation);
	}
	uint32_t *ranks = malloc((n ? n : 1) * sizeof(*ranks));

	if (ranks == NULL) {
		free(g);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ranks[i] = g[i].rank;
		if (swim_member_add(s->ctx, g[i].rank, g[i].incarnation) != 0)
			D_ERROR("swim: cannot add rank %u", g[i].rank);
	}
	qsort(ranks, n, sizeof(*ranks), cmp_u32);
	for (size_t i = 0; i < s->nranks; i++)
		if (s->ranks[i] != s->self &&
		    bsearch(&s->ranks[i], ranks, n, sizeof(*ranks), cmp_u32) == NULL)
			swim_member_del(s->ctx, s->ranks[i]);
	free(s->ranks);
	s->ranks = ranks;
	s->nranks = n;
	s->synced_version = version;
	free(g);
}

/* Members ALIVE in this context's view (self included). */
static size_t count_alive(struct dss_swim *s)
{
	size_t alive = 0;

	for (size_t i = 0; i < s->nranks; i++) {
		enum swim_state st = SWIM_ALIVE;
		uint64_t inc;

		if (s->ranks[i] != s->self && swim_member_get(s->ctx, s->ranks[i], &st, &inc) != 0)
			continue;
		alive += st == SWIM_ALIVE;
	}
	return alive;
}

/* Turns the deaths decided during the last tick/recv into RAS events (or log lines). */
static void handle_deaths(struct dss_swim *s)
{
	size_t alive;

	if (s->ndecided == 0)
		return;
	alive = count_alive(s);
	for (size_t i = 0; i < s->ndecided; i++) {
		struct death *d = &s->decided[i];

		if (d->reason != SWIM_DEAD_SUSPECT_TIMEOUT)
			continue; /* gossip: the decider reports; isolated: we are cut off */
		if (!dss_swim_majority(alive, s->nranks)) {
			D_ERROR("swim: rank %u not reported dead: only %zu of %zu members are alive in "
				"rank %u's view (this rank may be on the cut-off side)", d->rank,
				alive, s->nranks, s->self);
			dss_tm_counter_add("swim/events_suppressed", 1);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		if (s->nevents < EVENT_QUEUE_MAX) {
			s->events[s->nevents++] = *d;
			pthread_cond_signal(&s->ras_cond);
		}
		pthread_mutex_unlock(&s->lock);
	}
	s->ndecided = 0;
}

static void publish_stats(struct dss_swim *s)
{
	static const char *const names[] = {"pings_sent", "ping_reqs_sent", "acks_received",
					    "suspects", "deaths_decided", "refutes", "glitches",
					    "bad_msgs"};
	struct swim_stats st, old;
	uint64_t now[8], before[8];
	char path[64];

	swim_stats_get(s->ctx, &st);
	pthread_mutex_lock(&s->lock);
	old = s->stats;
	s->stats = st;
	s->started = 1;
	pthread_mutex_unlock(&s->lock);
	now[0] = st.pings_sent, before[0] = old.pings_sent;
	now[1] = st.ping_reqs_sent, before[1] = old.ping_reqs_sent;
	now[2] = st.acks_received, before[2] = old.acks_received;
	now[3] = st.suspects, before[3] = old.suspects;
	now[4] = st.deaths_decided, before[4] = old.deaths_decided;
	now[5] = st.refutes, before[5] = old.refutes;
	now[6] = st.glitches, before[6] = old.glitches;
	now[7] = st.bad_msgs, before[7] = old.bad_msgs;
	for (int i = 0; i < 8; i++)
		if (now[i] != before[i]) {
			snprintf(path, sizeof(path), "swim/%s", names[i]);
			dss_tm_counter_add(path, now[i] - before[i]);
		}
}

static void *swim_main(void *arg)
{
	struct dss_swim *s = arg;
	uint64_t next = 0;

	for (;;) {
		struct msg *in;
		uint64_t t = now_ms();
		uint64_t wait = next > t ? next - t : 0;
		struct timespec ts;

		if (wait > SWIM_IDLE_MS || s->ctx == NULL)
			wait = SWIM_IDLE_MS;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->lock);
		while (!s->stop && s->inbox == NULL && wait > 0 &&
		       pthread_cond_timedwait(&s->cond, &s->lock, &ts) == 0)
			;
		in = s->inbox;
		s->inbox = NULL;
		s->inbox_tail = &s->inbox;
		s->ninbox = 0;
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			while (in != NULL) {
				struct msg *nx = in->next;

				free(in);
				in = nx;
			}
			break;
		}
		pthread_mutex_unlock(&s->lock);
		sync_members(s);
		t = now_ms();
		while (in != NULL) {
			struct msg *nx = in->next;

			if (s->ctx != NULL)
				swim_recv(s->ctx, in->rank, in->buf, in->len, t);
			free(in);
			in = nx;
		}
		if (s->ctx == NULL)
			continue;
		next = swim_tick(s->ctx, t);
		flush_outbox(s);
		handle_deaths(s);
		publish_stats(s);
		check_out_of_group(s, t);
	}
	return NULL;
}

/* Sends the queued swim_rank_dead events to daos_server, a few attempts each. */
static void *ras_main(void *arg)
{
	struct dss_swim *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct death d;
		char msg[256];
		int rc = -EIO;

		while (!s->stop && s->nevents == 0)
			pthread_cond_wait(&s->ras_cond, &s->lock);
		if (s->stop)
			break;
		d = s->events[0];
		memmove(&s->events[0], &s->events[1], (s->nevents - 1) * sizeof(d));
		s->nevents--;
		pthread_mutex_unlock(&s->lock);
		snprintf(msg, sizeof(msg), "%s (rank %u, incarnation %llu, decided by rank %u)",
			 swim_dead_reason_str(d.reason), d.rank, (unsigned long long)d.inc,
			 s->self);
		for (int i = 0; i < EVENT_ATTEMPTS && rc != 0 && !dss_engine_stopping(s->eng);
		     i++) {
			rc = dss_notify_swim_rank_dead(s->eng, d.rank, d.inc, msg);
			if (rc != 0 && dss_engine_sleep(s->eng, 200 << i))
				break;
		}
		if (rc == 0) {
			D_WARN("swim_rank_dead for rank %u sent to daos_server", d.rank);
			dss_tm_counter_add("swim/events_sent", 1);
		} else {
			D_ERROR("swim_rank_dead for rank %u not acknowledged by daos_server", d.rank);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- start/stop ---- */

int dss_swim_start(struct dss_engine *eng, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct dss_swim *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "swim: out of memory");
		return -ENOMEM;
	}
	s->eng = eng;
	s->inbox_tail = &s->inbox;
	s->outbox_tail = &s->outbox;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->ras_cond, NULL);
	eng->swim = s;
	rc = crt_proto_register(eng->crt, &swim_proto);
	if (rc != 0) {
		snprintf(err, errlen, "cannot register the SWIM protocol: %s", strerror(-rc));
		goto fail;
	}
	rc = -pthread_create(&s->thread, NULL, swim_main, s);
	s->thread_started = rc == 0;
	if (rc == 0) {
		rc = -pthread_create(&s->ras_thread, NULL, ras_main, s);
		s->ras_started = rc == 0;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the swim threads: %s", strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	dss_swim_stop(eng);
	return rc;
}

void dss_swim_stop(struct dss_engine *eng)
{
	struct dss_swim *s = eng != NULL ? eng->swim : NULL;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_cond_broadcast(&s->ras_cond);
	pthread_mutex_unlock(&s->lock);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	if (s->ras_started)
		pthread_join(s->ras_thread, NULL);
	/*
	 * The protocol stays registered until the transport closes (crt has no unregister):
	 * its handler then finds eng->swim NULL and answers -DER_UNREACH. The system context's
	 * thread may be inside h_swim right now, so eng->swim is cleared under s->lock's
	 * protection only after the transport stopped: dss_swim_free does that.
	 */
}

/* Frees the state once the transport (and so every handler) has stopped. */
void dss_swim_free(struct dss_engine *eng)
{
	struct dss_swim *s = eng != NULL ? eng->swim : NULL;

	if (s == NULL)
		return;
	eng->swim = NULL;
	for (struct msg *m = s->inbox, *nx; m != NULL; m = nx) {
		nx = m->next;
		free(m);
	}
	for (struct msg *m = s->outbox, *nx; m != NULL; m = nx) {
		nx = m->next;
		free(m);
	}
	swim_fini(s->ctx);
	free(s->ranks);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->ras_cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void dss_swim_stats(struct dss_engine *eng, struct swim_stats *out)
{
	struct dss_swim *s = eng != NULL ? eng->swim : NULL;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
