/*
 * cmocka tests of the SWIM failure detector: the codec, one context driven by hand on a fake
 * clock, and whole simulated clusters (N contexts in this process) on a fake clock and a fake
 * network whose delay, loss, partitions and stopped (SIGSTOP-like) or crashed members the
 * tests control. Simulated time only: no sleeps, every loop is bounded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "swim.h"

/* ================================================================ simulated cluster */

#define MAXN	 16
#define STEP_MS	 10
#define MAXEV	 4096

struct sim;

struct node_arg {
	struct sim *s;
	uint32_t rank;
};

struct sim_msg {
	uint64_t at;
	uint32_t src, dst;
	size_t len;
	uint8_t buf[SWIM_MSG_MAX_SIZE];
};

struct dead_ev {
	uint32_t observer, rank;
	uint64_t inc, at;
	enum swim_dead_reason reason;
};

struct sim {
	int n;
	uint64_t now;
	struct dss_tunables tun;
	struct swim_ctx *ctx[MAXN];
	uint64_t inc0[MAXN];
	struct node_arg args[MAXN];

	struct sim_msg *q;
	size_t nq, capq;
	uint32_t delay_min, delay_max; /* per message, uniform */
	uint32_t loss_pm[MAXN][MAXN];  /* directed link loss, per mille */
	int stopped[MAXN];	       /* no ticks; inbound held until resumed */
	int down[MAXN];		       /* crashed: no ticks; inbound dropped */
	uint64_t stall_until[MAXN];    /* short random stalls (behave as stopped) */
	uint32_t stall_pm, stall_max;  /* per step per node probability, max length */
	uint64_t rng;

	struct dead_ev dead[MAXEV];
	int ndead;
	int nalive_ev;
	int alive_ev[MAXN][MAXN];      /* [observer][rank]: DEAD → ALIVE callbacks */
	int suspect_ev[MAXN][MAXN];    /* [observer][rank] */
	uint64_t sent, dropped;
};

static uint64_t sim_rand(struct sim *s)
{
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int cb_send(void *arg, uint32_t dst, const uint8_t *buf, size_t len)
{
	struct node_arg *a = arg;
	struct sim *s = a->s;
	struct sim_msg *m;

	assert_true(dst < (uint32_t)s->n);
	assert_true(len <= SWIM_MSG_MAX_SIZE);
	s->sent++;
	if (s->loss_pm[a->rank][dst] > 0 && sim_rand(s) % 1000 < s->loss_pm[a->rank][dst]) {
		s->dropped++;
		return 0;
	}
	if (s->nq == s->capq) {
		s->capq = s->capq ? s->capq * 2 : 256;
		s->q = realloc(s->q, s->capq * sizeof(*s->q));
		assert_non_null(s->q);
	}
	m = &s->q[s->nq++];
	m->src = a->rank;
	m->dst = dst;
	m->len = len;
	memcpy(m->buf, buf, len);
	m->at = s->now + s->delay_min +
		(s->delay_max > s->delay_min ? sim_rand(s) % (s->delay_max - s->delay_min + 1) : 0);
	return 0;
}

static void cb_dead(void *arg, uint32_t rank, uint64_t inc, enum swim_dead_reason reason)
{
	struct node_arg *a = arg;
	struct sim *s = a->s;

	assert_true(s->ndead < MAXEV);
	s->dead[s->ndead++] = (struct dead_ev){.observer = a->rank, .rank = rank, .inc = inc,
					       .at = s->now, .reason = reason};
}

static void cb_alive(void *arg, uint32_t rank, uint64_t inc)
{
	struct node_arg *a = arg;

	(void)inc;
	a->s->alive_ev[a->rank][rank]++;
	a->s->nalive_ev++;
}

static void cb_suspect(void *arg, uint32_t rank, uint64_t inc, uint32_t from)
{
	struct node_arg *a = arg;

	(void)inc;
	(void)from;
	a->s->suspect_ev[a->rank][rank]++;
}

static const struct swim_ops sim_ops = {
	.send = cb_send,
	.member_dead = cb_dead,
	.member_alive = cb_alive,
	.member_suspect = cb_suspect,
};

static struct dss_tunables default_tun(void)
{
	struct dss_tunables t;

	dss_tunables_defaults(&t);
	return t;
}

/* (Re)creates node r's context at incarnation inc, with every rank of the map at inc0. */
static void sim_start_node(struct sim *s, int r, uint64_t inc)
{
	if (s->ctx[r] != NULL)
		swim_fini(s->ctx[r]);
	s->args[r] = (struct node_arg){.s = s, .rank = (uint32_t)r};
	assert_int_equal(swim_init(&s->ctx[r], (uint32_t)r, inc, &sim_ops, &s->args[r], &s->tun),
			 0);
	for (int j = 0; j < s->n; j++)
		assert_int_equal(swim_member_add(s->ctx[r], (uint32_t)j, s->inc0[j]), 0);
	s->down[r] = 0;
	s->stopped[r] = 0;
}

static struct sim *sim_new(int n, const struct dss_tunables *t, uint64_t seed)
{
	struct sim *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_true(n <= MAXN);
	s->n = n;
	s->tun = *t;
	/* SWIM_TEST_SEED shifts every scenario's seed: run the suite over many seeds by hand */
	if (getenv("SWIM_TEST_SEED") != NULL)
		seed += strtoull(getenv("SWIM_TEST_SEED"), NULL, 10) * 7919;
	s->rng = seed | 1;
	s->now = 1000000; /* a monotonic clock does not start at 0 */
	s->delay_min = 1;
	s->delay_max = 20;
	for (int r = 0; r < n; r++)
		s->inc0[r] = 100 + (uint64_t)r;
	for (int r = 0; r < n; r++)
		sim_start_node(s, r, s->inc0[r]);
	return s;
}

static void sim_free(struct sim *s)
{
	for (int r = 0; r < s->n; r++)
		swim_fini(s->ctx[r]);
	free(s->q);
	free(s);
}

static int sim_paused(const struct sim *s, int r)
{
	return s->stopped[r] || s->stall_until[r] > s->now;
}

/* Advances simulated time by ms: delivers due messages, then ticks every running node. */
static void sim_run(struct sim *s, uint64_t ms)
{
	static struct sim_msg due[8192];

	for (uint64_t end = s->now + ms; s->now < end;) {
		size_t keep = 0, ndue = 0;

		s->now += STEP_MS;
		for (int r = 0; r < s->n; r++)
			if (s->stall_pm > 0 && !sim_paused(s, r) && sim_rand(s) % 1000 < s->stall_pm)
				s->stall_until[r] = s->now + 1 + sim_rand(s) % s->stall_max;
		/* take the due messages out first: delivering them queues new ones */
		for (size_t i = 0; i < s->nq; i++) {
			struct sim_msg *m = &s->q[i];

			if (s->down[m->dst])
				continue; /* crashed: lost */
			if (m->at > s->now || sim_paused(s, (int)m->dst))
				s->q[keep++] = *m; /* not yet, or held by a stopped member */
			else if (ndue < sizeof(due) / sizeof(due[0]))
				due[ndue++] = *m;
			else
				fail_msg("simulated network overflow");
		}
		s->nq = keep;
		for (size_t i = 0; i < ndue; i++)
			assert_int_equal(swim_recv(s->ctx[due[i].dst], due[i].src, due[i].buf,
						   due[i].len, s->now),
					 0);
		for (int r = 0; r < s->n; r++)
			if (!s->down[r] && !sim_paused(s, r))
				(void)swim_tick(s->ctx[r], s->now);
	}
}

static void sim_cut(struct sim *s, int r, uint32_t pm)
{
	for (int j = 0; j < s->n; j++)
		if (j != r)
			s->loss_pm[r][j] = s->loss_pm[j][r] = pm;
}

static enum swim_state view(struct sim *s, int observer, int rank, uint64_t *inc)
{
	enum swim_state st;
	uint64_t i;

	assert_int_equal(swim_member_get(s->ctx[observer], (uint32_t)rank, &st, &i), 0);
	if (inc != NULL)
		*inc = i;
	return st;
}

/* Runs until every live observer holds rank in state want, at most max_ms. Returns the time
 * it took, or UINT64_MAX. */
static uint64_t sim_until_all(struct sim *s, int rank, enum swim_state want, uint64_t max_ms)
{
	uint64_t start = s->now;

	while (s->now - start <= max_ms) {
		int all = 1;

		for (int o = 0; o < s->n && all; o++)
			if (o != rank && !s->down[o] && !s->stopped[o] &&
			    view(s, o, rank, NULL) != want)
				all = 0;
		if (all)
			return s->now - start;
		sim_run(s, 100);
	}
	return UINT64_MAX;
}

static int deaths_of(const struct sim *s, int rank, int reason)
{
	int n = 0;

	for (int i = 0; i < s->ndead; i++)
		if (s->dead[i].rank == (uint32_t)rank && (reason == 0 || (int)s->dead[i].reason == reason))
			n++;
	return n;
}

static int suspicions_total(const struct sim *s)
{
	int n = 0;

	for (int o = 0; o < s->n; o++)
		for (int r = 0; r < s->n; r++)
			n += s->suspect_ev[o][r];
	return n;
}

/* ================================================================ one context by hand */

#define CAPMAX 8192

struct cap {
	int n;
	uint32_t dst[CAPMAX];
	struct swim_msg out[CAPMAX];
	int ndead;
	uint32_t dead_rank[64];
	enum swim_dead_reason dead_reason[64];
	int nalive;
	uint64_t self_inc;
};

static int cap_send(void *arg, uint32_t dst, const uint8_t *buf, size_t len)
{
	struct cap *c = arg;

	assert_true(c->n < CAPMAX);
	/* whatever a context sends must pass the strict decoder */
	assert_int_equal(swim_msg_decode(buf, len, &c->out[c->n]), 0);
	c->dst[c->n++] = dst;
	return 0;
}

static void cap_dead(void *arg, uint32_t rank, uint64_t inc, enum swim_dead_reason reason)
{
	struct cap *c = arg;

	(void)inc;
	assert_true(c->ndead < 64);
	c->dead_rank[c->ndead] = rank;
	c->dead_reason[c->ndead++] = reason;
}

static void cap_alive(void *arg, uint32_t rank, uint64_t inc)
{
	(void)rank;
	(void)inc;
	((struct cap *)arg)->nalive++;
}

static void cap_self(void *arg, uint64_t inc)
{
	((struct cap *)arg)->self_inc = inc;
}

static const struct swim_ops cap_ops = {
	.send = cap_send,
	.member_dead = cap_dead,
	.member_alive = cap_alive,
	.self_incarnation = cap_self,
};

/* A context for rank self with members 0..n-1 (incarnation 1 each). */
static struct swim_ctx *cap_ctx(struct cap *c, uint32_t self, int n, const struct dss_tunables *t)
{
	struct swim_ctx *ctx;

	memset(c, 0, sizeof(*c));
	assert_int_equal(swim_init(&ctx, self, 1, &cap_ops, c, t), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(swim_member_add(ctx, (uint32_t)i, 1), 0);
	return ctx;
}

/* Encodes a message from src (its own ALIVE entry first) with extra updates. */
static size_t mk(uint8_t *buf, uint8_t type, uint64_t seq, uint32_t src, uint64_t src_inc,
		 uint32_t target, uint32_t origin, const struct swim_update *ups, int nups)
{
	struct swim_msg m = {.type = type, .seq = seq, .target = target, .origin = origin};
	size_t len;

	m.updates[0] = (struct swim_update){.rank = src, .state = SWIM_ALIVE,
					    .incarnation = src_inc};
	m.nupdates = 1;
	for (int i = 0; i < nups; i++)
		m.updates[m.nupdates++] = ups[i];
	assert_int_equal(swim_msg_encode(&m, buf, SWIM_MSG_MAX_SIZE, &len), 0);
	return len;
}

static int find_update(const struct swim_msg *m, uint32_t rank, struct swim_update *out)
{
	for (uint32_t i = 0; i < m->nupdates; i++)
		if (m->updates[i].rank == rank) {
			if (out != NULL)
				*out = m->updates[i];
			return 1;
		}
	return 0;
}

/* ================================================================ codec */

static void test_codec_roundtrip(void **state)
{
	struct swim_msg m = {.type = SWIM_MSG_PING_REQ, .seq = 0x0102030405060708ULL,
			     .target = 7, .origin = 3, .nupdates = 3}, back;
	uint8_t buf[SWIM_MSG_MAX_SIZE], again[SWIM_MSG_MAX_SIZE];
	size_t len, len2;

	(void)state;
	m.updates[0] = (struct swim_update){3, SWIM_ALIVE, 9};
	m.updates[1] = (struct swim_update){7, SWIM_SUSPECT, 0xFFFFFFFFFFFFFFFFULL};
	m.updates[2] = (struct swim_update){0, SWIM_DEAD, 1};
	assert_int_equal(swim_msg_encode(&m, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, SWIM_MSG_HDR_SIZE + 3 * SWIM_MSG_UPDATE_SIZE);
	assert_int_equal(buf[0], 'S');
	assert_int_equal(buf[1], 'W');
	assert_int_equal(buf[3], SWIM_MSG_PING_REQ);
	assert_int_equal(buf[4], 0x08); /* little endian seq */
	assert_int_equal(swim_msg_decode(buf, len, &back), 0);
	assert_int_equal(back.type, m.type);
	assert_true(back.seq == m.seq);
	assert_int_equal(back.target, 7);
	assert_int_equal(back.origin, 3);
	assert_int_equal(back.nupdates, 3);
	for (int i = 0; i < 3; i++) { /* field by field: the struct has padding */
		assert_int_equal(back.updates[i].rank, m.updates[i].rank);
		assert_int_equal(back.updates[i].state, m.updates[i].state);
		assert_true(back.updates[i].incarnation == m.updates[i].incarnation);
	}
	assert_int_equal(swim_msg_encode(&back, again, sizeof(again), &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	/* the largest message fits SWIM_MSG_MAX_SIZE, one byte less does not */
	m.nupdates = SWIM_MSG_MAX_UPDATES;
	for (uint32_t i = 0; i < m.nupdates; i++)
		m.updates[i] = (struct swim_update){i, SWIM_ALIVE, i};
	assert_int_equal(swim_msg_encode(&m, buf, SWIM_MSG_MAX_SIZE, &len), 0);
	assert_int_equal(len, SWIM_MSG_MAX_SIZE);
	assert_int_equal(swim_msg_encode(&m, buf, SWIM_MSG_MAX_SIZE - 1, &len), -ENOSPC);
}

static void test_codec_rejects(void **state)
{
	struct swim_msg m = {.type = SWIM_MSG_PING, .seq = 1, .target = 2, .origin = 1,
			     .nupdates = 2}, out;
	uint8_t good[SWIM_MSG_MAX_SIZE], bad[SWIM_MSG_MAX_SIZE + 1];
	size_t len;

	(void)state;
	m.updates[0] = (struct swim_update){1, SWIM_ALIVE, 1};
	m.updates[1] = (struct swim_update){2, SWIM_ALIVE, 1};
	assert_int_equal(swim_msg_encode(&m, good, sizeof(good), &len), 0);
	assert_int_equal(swim_msg_decode(good, len, &out), 0);

	assert_int_equal(swim_msg_decode(NULL, 0, &out), -EINVAL);
	for (size_t cut = 0; cut < len; cut++) /* every truncation */
		assert_int_equal(swim_msg_decode(good, cut, &out), -EINVAL);
	memcpy(bad, good, len);
	bad[len] = 0;
	assert_int_equal(swim_msg_decode(bad, len + 1, &out), -EINVAL); /* trailing byte */
#define MUTATE(off, val)                                                        \
	do {                                                                    \
		memcpy(bad, good, len);                                         \
		bad[off] = (uint8_t)(val);                                      \
		assert_int_equal(swim_msg_decode(bad, len, &out), -EINVAL);     \
	} while (0)
	MUTATE(0, 'X');			  /* magic */
	MUTATE(2, 2);			  /* version */
	MUTATE(3, 0);			  /* type */
	MUTATE(3, 4);			  /* type */
	MUTATE(20, 3);			  /* count disagrees with the length */
	MUTATE(20, SWIM_MSG_MAX_UPDATES + 1);
	MUTATE(SWIM_MSG_HDR_SIZE + 4, 3); /* state */
	memcpy(bad, good, len);		  /* a NONE rank among the updates */
	memset(bad + SWIM_MSG_HDR_SIZE, 0xFF, 4);
	assert_int_equal(swim_msg_decode(bad, len, &out), -EINVAL);
	memcpy(bad, good, len); /* NONE target */
	memset(bad + 12, 0xFF, 4);
	assert_int_equal(swim_msg_decode(bad, len, &out), -EINVAL);
	memcpy(bad, good, len); /* the same rank twice */
	memcpy(bad + SWIM_MSG_HDR_SIZE + SWIM_MSG_UPDATE_SIZE, bad + SWIM_MSG_HDR_SIZE, 4);
	assert_int_equal(swim_msg_decode(bad, len, &out), -EINVAL);
#undef MUTATE
	/* the encoder refuses what the decoder would */
	m.updates[1].state = 3;
	assert_int_equal(swim_msg_encode(&m, good, sizeof(good), &len), -EINVAL);
	m.updates[1].state = SWIM_DEAD;
	m.type = 9;
	assert_int_equal(swim_msg_encode(&m, good, sizeof(good), &len), -EINVAL);
	m.type = SWIM_MSG_ACK;
	m.nupdates = SWIM_MSG_MAX_UPDATES + 1;
	assert_int_equal(swim_msg_encode(&m, good, sizeof(good), &len), -EINVAL);
}

/* Messages that decode but contradict their sender or role are refused, not applied. */
static void test_recv_rejects(void **state)
{
	struct dss_tunables t = default_tun();
	struct swim_update sus2 = {2, SWIM_SUSPECT, 1};
	uint8_t buf[SWIM_MSG_MAX_SIZE];
	struct swim_stats st;
	enum swim_state s;
	struct swim_ctx *ctx;
	struct cap c;
	uint64_t inc;
	size_t len;

	(void)state;
	ctx = cap_ctx(&c, 0, 4, &t);
	len = mk(buf, SWIM_MSG_PING, 1, 1, 1, 0, 1, &sus2, 1);
	assert_int_equal(swim_recv(ctx, 9, buf, len, 1000), -ENOENT);	/* not a member */
	assert_int_equal(swim_recv(ctx, 0, buf, len, 1000), -EINVAL);	/* from self */
	assert_int_equal(swim_recv(ctx, 2, buf, len, 1000), -EINVAL);	/* first entry != src */
	assert_int_equal(swim_recv(ctx, 1, buf, len - 1, 1000), -EINVAL); /* truncated */
	len = mk(buf, SWIM_MSG_PING, 1, 1, 1, 3, 1, &sus2, 1);		/* PING for rank 3 */
	assert_int_equal(swim_recv(ctx, 1, buf, len, 1000), -EINVAL);
	len = mk(buf, SWIM_MSG_PING_REQ, 1, 1, 1, 0, 1, &sus2, 1);	/* ping myself for 1 */
	assert_int_equal(swim_recv(ctx, 1, buf, len, 1000), -EINVAL);
	len = mk(buf, SWIM_MSG_PING_REQ, 1, 1, 1, 2, 3, &sus2, 1);	/* origin != src */
	assert_int_equal(swim_recv(ctx, 1, buf, len, 1000), -EINVAL);
	len = mk(buf, SWIM_MSG_ACK, 1, 1, 1, 2, 3, &sus2, 1);		/* relay not from target */
	assert_int_equal(swim_recv(ctx, 1, buf, len, 1000), -EINVAL);
	swim_stats_get(ctx, &st);
	assert_int_equal(st.bad_msgs, 8);
	/* none of the refused messages' suspicion of rank 2 was applied, nothing was sent */
	assert_int_equal(swim_member_get(ctx, 2, &s, &inc), 0);
	assert_int_equal(s, SWIM_ALIVE);
	assert_int_equal(c.n, 0);
	/* the same suspicion in a well-formed PING is applied and answered with an ACK */
	len = mk(buf, SWIM_MSG_PING, 5, 1, 1, 0, 1, &sus2, 1);
	assert_int_equal(swim_recv(ctx, 1, buf, len, 1000), 0);
	assert_int_equal(swim_member_get(ctx, 2, &s, &inc), 0);
	assert_int_equal(s, SWIM_SUSPECT);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.dst[0], 1);
	assert_int_equal(c.out[0].type, SWIM_MSG_ACK);
	assert_true(c.out[0].seq == 5);
	assert_int_equal(c.out[0].target, 0);
	assert_int_equal(c.out[0].origin, 1);
	swim_fini(ctx);
}

/* ================================================================ membership */

static void test_member_map(void **state)
{
	struct dss_tunables t = default_tun();
	struct swim_update dead2 = {2, SWIM_DEAD, 5};
	uint8_t buf[SWIM_MSG_MAX_SIZE];
	enum swim_state s;
	struct swim_ctx *ctx;
	struct cap c;
	uint64_t inc;
	size_t len;

	(void)state;
	ctx = cap_ctx(&c, 1, 3, &t); /* self 1, members 0, 2 */
	assert_int_equal(swim_member_count(ctx), 3);
	assert_int_equal(swim_member_add(ctx, SWIM_RANK_NONE, 1), -EINVAL);
	assert_int_equal(swim_member_del(ctx, 1), -EINVAL);
	assert_int_equal(swim_member_del(ctx, 7), -ENOENT);
	assert_int_equal(swim_member_get(ctx, 7, &s, &inc), -ENOENT);
	assert_int_equal(swim_member_add(ctx, 10, 3), 0);
	assert_int_equal(swim_member_add(ctx, 5, 3), 0);
	assert_int_equal(swim_member_count(ctx), 5);
	assert_int_equal(swim_member_get(ctx, 5, &s, &inc), 0);
	assert_int_equal(s, SWIM_ALIVE);
	assert_int_equal(inc, 3);
	/* gossip of a DEAD rank 2 (newer incarnation) → DEAD, reported as gossip */
	len = mk(buf, SWIM_MSG_PING, 1, 0, 1, 1, 0, &dead2, 1);
	assert_int_equal(swim_recv(ctx, 0, buf, len, 1000), 0);
	assert_int_equal(c.ndead, 1);
	assert_int_equal(c.dead_rank[0], 2);
	assert_int_equal(c.dead_reason[0], SWIM_DEAD_GOSSIP);
	/* the map re-adds it with the same incarnation: stays DEAD; a newer one: ALIVE again */
	assert_int_equal(swim_member_add(ctx, 2, 5), 0);
	assert_int_equal(swim_member_get(ctx, 2, &s, &inc), 0);
	assert_int_equal(s, SWIM_DEAD);
	assert_int_equal(swim_member_add(ctx, 2, 6), 0);
	assert_int_equal(swim_member_get(ctx, 2, &s, &inc), 0);
	assert_int_equal(s, SWIM_ALIVE);
	assert_int_equal(inc, 6);
	assert_int_equal(c.nalive, 1);
	/* removed members are forgotten: updates about them are ignored */
	assert_int_equal(swim_member_del(ctx, 10), 0);
	assert_int_equal(swim_member_count(ctx), 4);
	dead2.rank = 10;
	len = mk(buf, SWIM_MSG_PING, 2, 0, 1, 1, 0, &dead2, 1);
	assert_int_equal(swim_recv(ctx, 0, buf, len, 1000), 0);
	assert_int_equal(c.ndead, 1);
	assert_int_equal(swim_member_get(ctx, 10, &s, &inc), -ENOENT);
	/* adding self only raises its incarnation */
	assert_int_equal(swim_member_add(ctx, 1, 40), 0);
	assert_int_equal(swim_self_incarnation(ctx), 40);
	assert_int_equal(swim_member_count(ctx), 4);
	swim_fini(ctx);
}

static void test_init_rejects(void **state)
{
	struct dss_tunables t = default_tun();
	struct swim_ops no_dead = {.send = cap_send};
	struct swim_ctx *ctx = (struct swim_ctx *)&t;
	struct cap c;

	(void)state;
	assert_int_equal(swim_init(&ctx, 0, 1, &no_dead, &c, &t), -EINVAL);
	assert_null(ctx);
	assert_int_equal(swim_init(&ctx, SWIM_RANK_NONE, 1, &cap_ops, &c, &t), -EINVAL);
	t.swim_subgroup_size = SWIM_SUBGROUP_MAX + 1;
	assert_int_equal(swim_init(&ctx, 0, 1, &cap_ops, &c, &t), -EINVAL);
	t = default_tun();
	t.swim_period_ms = 0;
	assert_int_equal(swim_init(&ctx, 0, 1, &cap_ops, &c, &t), -EINVAL);
	assert_string_equal(swim_state_str(SWIM_SUSPECT), "SUSPECT");
	assert_non_null(strstr(swim_dead_reason_str(SWIM_DEAD_SUSPECT_TIMEOUT), "suspicion"));
}

/* ================================================================ one context, fake clock */

/*
 * The whole probe cycle by hand: PING, no ACK → PING_REQ to k members, no ACK → SUSPECT,
 * no refutation → DEAD after the suspicion timeout, reported once, as this context's decision.
 */
static void test_probe_suspect_dead_by_hand(void **state)
{
	struct dss_tunables t = default_tun();
	struct swim_ctx *ctx;
	enum swim_state s;
	struct swim_stats st;
	uint64_t now = 5000, inc, t_suspect = 0, t_ping = 0;
	uint32_t target = SWIM_RANK_NONE;
	int reqs = 0;
	struct cap c;

	(void)state;
	ctx = cap_ctx(&c, 0, 4, &t);
	for (int i = 0; i < 2000 && c.ndead == 0; i++, now += 10) {
		int before = c.n;

		swim_tick(ctx, now);
		for (int j = before; j < c.n; j++) {
			if (c.out[j].type == SWIM_MSG_PING && target == SWIM_RANK_NONE) {
				target = c.dst[j]; /* first probe: never answered */
				t_ping = now;
			}
			if (c.out[j].type == SWIM_MSG_PING_REQ && t_suspect == 0) {
				assert_int_equal(c.out[j].target, target);
				assert_true(c.dst[j] != target);
				reqs++;
			}
		}
		if (target != SWIM_RANK_NONE && t_suspect == 0 &&
		    swim_member_get(ctx, target, &s, &inc) == 0 && s == SWIM_SUSPECT)
			t_suspect = now;
		/* the other members answer their own probes so only target goes silent */
		for (int j = before; j < c.n; j++) {
			uint8_t buf[SWIM_MSG_MAX_SIZE];
			size_t len;

			if (c.out[j].type != SWIM_MSG_PING || c.dst[j] == target)
				continue;
			len = mk(buf, SWIM_MSG_ACK, c.out[j].seq, c.dst[j], 1, c.dst[j], 0, NULL,
				 0);
			assert_int_equal(swim_recv(ctx, c.dst[j], buf, len, now), 0);
		}
	}
	assert_true(target != SWIM_RANK_NONE);
	assert_int_equal(reqs, 2); /* k = 2 indirect pings before the suspicion */
	/* suspected after the direct and the indirect ping timeouts */
	assert_true(t_ping >= 5000 + t.swim_period_ms); /* first probe after 1-2 periods */
	assert_true(t_ping < 5000 + 2 * t.swim_period_ms);
	assert_true(t_suspect >= t_ping + 2 * t.swim_ping_timeout_ms);
	assert_true(t_suspect <= t_ping + 2 * t.swim_ping_timeout_ms + 20);
	assert_int_equal(c.ndead, 1);
	assert_int_equal(c.dead_rank[0], target);
	assert_int_equal(c.dead_reason[0], SWIM_DEAD_SUSPECT_TIMEOUT);
	/* dead exactly one suspicion timeout later (10 ms tick granularity) */
	assert_true(now - 10 >= t_suspect + t.swim_suspect_timeout_ms);
	assert_true(now - 10 <= t_suspect + t.swim_suspect_timeout_ms + 10);
	swim_stats_get(ctx, &st);
	assert_int_equal(st.suspects, 1);
	assert_int_equal(st.deaths_decided, 1);
	/* it stays dead, reported once */
	for (int i = 0; i < 100; i++, now += 100)
		swim_tick(ctx, now);
	assert_int_equal(c.ndead, 1);
	swim_fini(ctx);
}

/* A suspicion of self at the current incarnation is refuted with incarnation + 1. */
static void test_self_refutes(void **state)
{
	struct dss_tunables t = default_tun();
	struct swim_update sus = {0, SWIM_SUSPECT, 1}, old = {0, SWIM_DEAD, 0};
	uint8_t buf[SWIM_MSG_MAX_SIZE];
	struct swim_update u;
	struct swim_ctx *ctx;
	struct cap c;
	size_t len;

	(void)state;
	ctx = cap_ctx(&c, 0, 3, &t);
	len = mk(buf, SWIM_MSG_PING, 1, 1, 1, 0, 1, &old, 1); /* older incarnation: ignored */
	assert_int_equal(swim_recv(ctx, 1, buf, len, 100), 0);
	assert_int_equal(swim_self_incarnation(ctx), 1);
	len = mk(buf, SWIM_MSG_PING, 2, 1, 1, 0, 1, &sus, 1);
	assert_int_equal(swim_recv(ctx, 1, buf, len, 100), 0);
	assert_int_equal(swim_self_incarnation(ctx), 2);
	assert_int_equal(c.self_inc, 2);
	/* the ACK already carries the refutation */
	assert_int_equal(c.out[c.n - 1].type, SWIM_MSG_ACK);
	assert_true(find_update(&c.out[c.n - 1], 0, &u));
	assert_int_equal(u.state, SWIM_ALIVE);
	assert_int_equal(u.incarnation, 2);
	/* hearing the same suspicion again does not bump twice */
	assert_int_equal(swim_recv(ctx, 1, buf, len, 100), 0);
	assert_int_equal(swim_self_incarnation(ctx), 2);
	swim_fini(ctx);
}

/*
 * The context's own thread stalls (SIGSTOP, starvation) while it suspects a member: when it
 * runs again the stall does not count against the member, which still has its whole
 * suspicion timeout to refute. Without the shift the first late tick would declare it dead.
 */
static void test_late_tick_shifts_deadlines(void **state)
{
	struct dss_tunables t = default_tun();
	struct swim_update sus1 = {1, SWIM_SUSPECT, 1}, alive1 = {1, SWIM_ALIVE, 2};
	uint8_t buf[SWIM_MSG_MAX_SIZE];
	struct swim_stats st;
	struct swim_ctx *ctx;
	enum swim_state s;
	uint64_t inc;
	struct cap c;
	size_t len;

	(void)state;
	ctx = cap_ctx(&c, 0, 3, &t);
	swim_tick(ctx, 1000);
	len = mk(buf, SWIM_MSG_ACK, 99, 2, 1, 2, 0, &sus1, 1); /* 2 says: 1 is suspect */
	assert_int_equal(swim_recv(ctx, 2, buf, len, 1000), 0);
	assert_int_equal(swim_member_get(ctx, 1, &s, &inc), 0);
	assert_int_equal(s, SWIM_SUSPECT);
	swim_tick(ctx, 1010);
	swim_tick(ctx, 1010 + 60000); /* one minute later */
	swim_stats_get(ctx, &st);
	assert_int_equal(st.glitches, 1);
	/* past the suspicion's deadline and any grace, had the stall been counted */
	for (uint64_t now = 61110; now <= 63010; now += 100)
		swim_tick(ctx, now);
	assert_int_equal(c.ndead, 0);
	swim_stats_get(ctx, &st);
	assert_int_equal(st.glitches, 1);
	len = mk(buf, SWIM_MSG_ACK, 99, 2, 1, 2, 0, &alive1, 1);
	assert_int_equal(swim_recv(ctx, 2, buf, len, 63020), 0);
	assert_int_equal(swim_member_get(ctx, 1, &s, &inc), 0);
	assert_int_equal(s, SWIM_ALIVE);
	assert_int_equal(inc, 2);
	swim_fini(ctx);
}

/*
 * A suspicion heard from another member gets a grace of one period + ping timeout past the
 * suspicion timeout, so the decider's DEAD (reason: gossip) usually arrives first; without
 * it, this context decides itself.
 */
static void test_gossip_suspicion_grace(void **state)
{
	struct dss_tunables t = default_tun();
	struct swim_update sus = {1, SWIM_SUSPECT, 1}, dead = {1, SWIM_DEAD, 1};
	uint64_t grace = t.swim_period_ms + t.swim_ping_timeout_ms, t0 = 1000, now;
	uint8_t buf[SWIM_MSG_MAX_SIZE];
	struct swim_ctx *ctx;
	enum swim_state st;
	struct cap c;
	uint64_t inc;
	size_t len;

	(void)state;
	for (int decider_speaks = 0; decider_speaks < 2; decider_speaks++) {
		ctx = cap_ctx(&c, 0, 3, &t);
		swim_tick(ctx, t0);
		len = mk(buf, SWIM_MSG_ACK, 99, 2, 1, 2, 0, &sus, 1);
		assert_int_equal(swim_recv(ctx, 2, buf, len, t0), 0);
		for (now = t0 + 100; now <= t0 + t.swim_suspect_timeout_ms + grace - 100;
		     now += 100) {
			int before = c.n;

			swim_tick(ctx, now);
			/* every probe is answered (rank 1 too, at its suspected incarnation, which
			 * does not refute): this context never confirms the suspicion itself */
			for (int j = before; j < c.n; j++) {
				if (c.out[j].type != SWIM_MSG_PING)
					continue;
				len = mk(buf, SWIM_MSG_ACK, c.out[j].seq, c.dst[j], 1, c.dst[j], 0,
					 NULL, 0);
				assert_int_equal(swim_recv(ctx, c.dst[j], buf, len, now), 0);
			}
		}
		assert_int_equal(swim_member_get(ctx, 1, &st, &inc), 0);
		assert_int_equal(st, SWIM_SUSPECT);
		assert_int_equal(c.ndead, 0);
		if (decider_speaks) {
			len = mk(buf, SWIM_MSG_ACK, 99, 2, 1, 2, 0, &dead, 1);
			assert_int_equal(swim_recv(ctx, 2, buf, len, now), 0);
		}
		for (; now <= t0 + t.swim_suspect_timeout_ms + grace + 200; now += 100)
			swim_tick(ctx, now);
		assert_int_equal(c.ndead, 1);
		assert_int_equal(c.dead_rank[0], 1);
		assert_int_equal(c.dead_reason[0], decider_speaks ? SWIM_DEAD_GOSSIP
								  : SWIM_DEAD_SUSPECT_TIMEOUT);
		swim_fini(ctx);
	}
}

/*
 * Dissemination is bounded: the update list holds SWIM_UPDATES_MAX entries, a message carries
 * at most SWIM_PIGGYBACK_MAX of them, and each is piggy-backed a bounded number of times.
 */
static void test_dissemination_bounded(void **state)
{
	struct dss_tunables t = default_tun();
	struct swim_update ups[15];
	uint8_t buf[SWIM_MSG_MAX_SIZE];
	struct swim_ctx *ctx;
	uint64_t now = 1000;
	int carried5 = 0, last_big = -1;
	struct cap c;
	size_t len;

	(void)state;
	ctx = cap_ctx(&c, 0, 100, &t);
	for (int i = 0; i < 15; i++)
		ups[i] = (struct swim_update){(uint32_t)(2 + i), SWIM_DEAD, 1};
	len = mk(buf, SWIM_MSG_PING, 1, 1, 1, 0, 1, ups, 15);
	assert_int_equal(swim_recv(ctx, 1, buf, len, now), 0);
	assert_int_equal(c.ndead, 15);
	for (int i = 0; i < 1500; i++, now += 100) {
		int before = c.n;

		swim_tick(ctx, now);
		for (int j = before; j < c.n; j++) { /* answer every probe */
			if (c.out[j].type != SWIM_MSG_PING)
				continue;
			len = mk(buf, SWIM_MSG_ACK, c.out[j].seq, c.dst[j], 1, c.dst[j], 0, NULL,
				 0);
			assert_int_equal(swim_recv(ctx, c.dst[j], buf, len, now), 0);
		}
	}
	for (int j = 0; j < c.n; j++) {
		/* self + receiver + target + SWIM_PIGGYBACK_MAX at most */
		assert_true(c.out[j].nupdates <= 3 + SWIM_PIGGYBACK_MAX);
		if (c.dst[j] != 5 && find_update(&c.out[j], 5, NULL))
			carried5++;
		if (c.out[j].nupdates > 2)
			last_big = j;
	}
	/* 4 * ceil(log2(101 + 1)) = 28 sends, no more */
	assert_true(carried5 > 0);
	assert_true(carried5 <= 28);
	/* and then the news is old: later messages carry only self and receiver */
	assert_true(last_big < c.n - 20);
	swim_fini(ctx);
}

/* ================================================================ simulated clusters */

/* A member cut off for a few seconds is suspected, hears it once the link is back and
 * refutes with a new incarnation before the suspicion timeout: nobody is declared dead. */
static void test_cluster_suspect_refute(void **state)
{
	struct dss_tunables t = default_tun();
	struct sim *s = sim_new(4, &t, 11);
	uint64_t inc;

	(void)state;
	sim_run(s, 3000);
	sim_cut(s, 3, 1000);
	sim_run(s, 5000);
	sim_cut(s, 3, 0);
	sim_run(s, 30000);
	assert_true(s->suspect_ev[0][3] + s->suspect_ev[1][3] + s->suspect_ev[2][3] > 0);
	assert_int_equal(s->ndead, 0);
	for (int o = 0; o < 3; o++) {
		assert_int_equal(view(s, o, 3, &inc), SWIM_ALIVE);
		assert_true(inc > s->inc0[3]); /* refuted: a newer incarnation */
	}
	assert_true(swim_self_incarnation(s->ctx[3]) > s->inc0[3]);
	sim_free(s);
}

/* A crashed member: SUSPECT, then DEAD one suspicion timeout later, decided by at least one
 * member; everybody ends up holding it DEAD; nobody else is declared dead. */
static void test_cluster_crash_dead(void **state)
{
	struct dss_tunables t = default_tun();
	struct sim *s = sim_new(5, &t, 12);
	uint64_t crash, first = UINT64_MAX, took;

	(void)state;
	sim_run(s, 5000);
	crash = s->now;
	s->down[4] = 1;
	took = sim_until_all(s, 4, SWIM_DEAD, 60000);
	assert_true(took != UINT64_MAX);
	for (int i = 0; i < s->ndead; i++) {
		assert_int_equal(s->dead[i].rank, 4);
		assert_true(s->dead[i].inc == s->inc0[4]);
		if (s->dead[i].at < first)
			first = s->dead[i].at;
	}
	assert_true(deaths_of(s, 4, SWIM_DEAD_SUSPECT_TIMEOUT) >= 1);
	assert_int_equal(deaths_of(s, 4, SWIM_DEAD_ISOLATED), 0);
	assert_int_equal(deaths_of(s, 4, 0), 4); /* once per live observer */
	/* not before ping timeouts + suspicion timeout; within one probe round more */
	assert_true(first - crash >= t.swim_suspect_timeout_ms + 2 * t.swim_ping_timeout_ms);
	assert_true(first - crash <= t.swim_suspect_timeout_ms + 2 * t.swim_ping_timeout_ms +
					     4 * t.swim_period_ms + 200);
	sim_run(s, 60000);
	assert_int_equal(s->ndead, 4); /* and nothing more */
	sim_free(s);
}

/* Two members, one crashes: the survivor cannot tell whether it is the one cut off, so its
 * decision says so (SWIM_DEAD_ISOLATED). */
static void test_cluster_two_members(void **state)
{
	struct dss_tunables t = default_tun();
	struct sim *s = sim_new(2, &t, 18);

	(void)state;
	sim_run(s, 3000);
	s->down[1] = 1;
	assert_true(sim_until_all(s, 1, SWIM_DEAD, 60000) != UINT64_MAX);
	assert_int_equal(s->ndead, 1);
	assert_int_equal(s->dead[0].reason, SWIM_DEAD_ISOLATED);
	sim_free(s);
}

/* A silent (SIGSTOPped) member: declared dead by at least one member and nobody else; when it
 * runs again (SIGCONT) it declares nobody dead, learns it was declared dead, bumps its
 * incarnation and everybody takes it back. */
static void test_cluster_sigstop_then_cont(void **state)
{
	struct dss_tunables t = default_tun();
	struct sim *s = sim_new(6, &t, 13);
	uint64_t took, inc;
	int ndead;

	(void)state;
	sim_run(s, 4000);
	s->stopped[2] = 1;
	took = sim_until_all(s, 2, SWIM_DEAD, 60000);
	assert_true(took != UINT64_MAX);
	assert_true(deaths_of(s, 2, SWIM_DEAD_SUSPECT_TIMEOUT) >= 1);
	assert_int_equal(deaths_of(s, 2, 0), s->ndead); /* nobody else */
	sim_run(s, 20000); /* stopped for a while longer */
	ndead = s->ndead;
	s->stopped[2] = 0;
	took = sim_until_all(s, 2, SWIM_ALIVE, 30000);
	assert_true(took != UINT64_MAX);
	sim_run(s, 30000);
	assert_int_equal(s->ndead, ndead); /* the resumed member declared nobody dead */
	for (int o = 0; o < s->n; o++) {
		if (o == 2)
			continue;
		assert_int_equal(view(s, o, 2, &inc), SWIM_ALIVE);
		assert_true(inc > s->inc0[2]);
		assert_int_equal(s->alive_ev[o][2], 1);
		assert_int_equal(view(s, 2, o, NULL), SWIM_ALIVE);
	}
	sim_free(s);
}

/* The direct link between 0 and 3 drops everything; the indirect pings through the subgroup
 * keep 3 (and 0) from being suspected at all. With indirect pings disabled (k = 0) the same
 * link makes 0 suspect 3 (the control: this test can fail). */
static void run_lossy_link(uint32_t k, int *suspicions, uint64_t *saves, int *ndead)
{
	struct dss_tunables t = default_tun();
	struct swim_stats st;
	struct sim *s;

	t.swim_subgroup_size = k;
	s = sim_new(6, &t, 14);
	s->loss_pm[0][3] = s->loss_pm[3][0] = 1000;
	sim_run(s, 120000);
	*suspicions = suspicions_total(s);
	swim_stats_get(s->ctx[0], &st);
	*saves = st.indirect_saves;
	*ndead = s->ndead;
	sim_free(s);
}

static void test_cluster_indirect_ping_saves(void **state)
{
	int suspicions, ndead;
	uint64_t saves;

	(void)state;
	run_lossy_link(2, &suspicions, &saves, &ndead);
	assert_int_equal(suspicions, 0);
	assert_int_equal(ndead, 0);
	assert_true(saves >= 10); /* 0 probed 3 about every 5 s for 2 min */
	run_lossy_link(0, &suspicions, &saves, &ndead);
	assert_true(suspicions >= 5);
	assert_int_equal(saves, 0);
	assert_int_equal(ndead, 0); /* refuted each time through the other members */
}

/* A crashed member restarts with a higher incarnation: everybody takes it back. */
static void test_cluster_rejoin_restart(void **state)
{
	struct dss_tunables t = default_tun();
	struct sim *s = sim_new(4, &t, 15);
	uint64_t inc;

	(void)state;
	sim_run(s, 3000);
	s->down[1] = 1;
	assert_true(sim_until_all(s, 1, SWIM_DEAD, 60000) != UINT64_MAX);
	assert_int_equal(s->ndead, 3);
	sim_start_node(s, 1, s->inc0[1] + 50); /* a new engine process: empty state */
	assert_true(sim_until_all(s, 1, SWIM_ALIVE, 20000) != UINT64_MAX);
	sim_run(s, 30000);
	for (int o = 0; o < 4; o++) {
		if (o == 1)
			continue;
		assert_int_equal(view(s, o, 1, &inc), SWIM_ALIVE);
		assert_true(inc == s->inc0[1] + 50);
		assert_int_equal(s->alive_ev[o][1], 1);
	}
	assert_int_equal(s->ndead, 3);
	sim_free(s);
}

/* One member partitioned away: the others declare it dead (and only it); the partitioned
 * member, alone, declares the others dead. The partition heals: everybody is ALIVE again
 * everywhere, the partitioned member with a new incarnation. */
static void test_cluster_partition_heal(void **state)
{
	struct dss_tunables t = default_tun();
	struct sim *s = sim_new(5, &t, 16);
	uint64_t inc;

	(void)state;
	sim_run(s, 3000);
	sim_cut(s, 4, 1000);
	assert_true(sim_until_all(s, 4, SWIM_DEAD, 60000) != UINT64_MAX);
	sim_run(s, 10000);
	for (int i = 0; i < s->ndead; i++) {
		if (s->dead[i].observer != 4) { /* the majority blamed only the partitioned one */
			assert_int_equal(s->dead[i].rank, 4);
			assert_true(s->dead[i].reason != SWIM_DEAD_ISOLATED);
		} else { /* and the partitioned one knows it heard nobody */
			assert_int_equal(s->dead[i].reason, SWIM_DEAD_ISOLATED);
		}
	}
	assert_true(deaths_of(s, 4, SWIM_DEAD_SUSPECT_TIMEOUT) >= 1);
	for (int r = 0; r < 4; r++) /* the minority's view: everybody else is gone */
		assert_int_equal(view(s, 4, r, NULL), SWIM_DEAD);
	sim_cut(s, 4, 0);
	sim_run(s, 60000);
	for (int o = 0; o < 5; o++)
		for (int r = 0; r < 5; r++)
			if (o != r)
				assert_int_equal(view(s, o, r, NULL), SWIM_ALIVE);
	assert_int_equal(view(s, 0, 4, &inc), SWIM_ALIVE);
	assert_true(inc > s->inc0[4]);
	sim_free(s);
}

/* 16 members on a network that loses 2% of all messages: suspicions may happen and are
 * refuted, nobody healthy dies; a crashed member is known DEAD by all 15 others. */
static void test_cluster_16_lossy_crash(void **state)
{
	struct dss_tunables t = default_tun();
	struct sim *s = sim_new(16, &t, 19);

	(void)state;
	s->delay_max = 100;
	for (int a = 0; a < 16; a++)
		for (int b = 0; b < 16; b++)
			s->loss_pm[a][b] = a == b ? 0 : 20;
	sim_run(s, 120000);
	assert_int_equal(s->ndead, 0);
	s->down[7] = 1;
	assert_true(sim_until_all(s, 7, SWIM_DEAD, 40000) != UINT64_MAX);
	sim_run(s, 120000);
	assert_int_equal(deaths_of(s, 7, 0), 15);
	assert_int_equal(s->ndead, 15);
	assert_true(s->dropped > 0);
	sim_free(s);
}

/* Ten simulated minutes of random message delays (up to 200 ms each way) and random member
 * stalls (up to 400 ms), always below the ping timeout: no suspicion, no death. */
static void test_cluster_no_false_positives(void **state)
{
	struct dss_tunables t = default_tun();
	struct sim *s = sim_new(8, &t, 17);
	uint64_t stalls = 0;

	(void)state;
	s->delay_min = 1;
	s->delay_max = 200;
	s->stall_pm = 2; /* ~ one stall per node per 5 s */
	s->stall_max = 400;
	for (int i = 0; i < 600; i++) {
		sim_run(s, 1000);
		for (int r = 0; r < s->n; r++)
			stalls += s->stall_until[r] > s->now;
	}
	assert_true(stalls > 0); /* the load really happened */
	assert_int_equal(suspicions_total(s), 0);
	assert_int_equal(s->ndead, 0);
	assert_true(s->sent > 8 * 600); /* and the members really probed each other */
	sim_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_codec_rejects),
		cmocka_unit_test(test_recv_rejects),
		cmocka_unit_test(test_member_map),
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_probe_suspect_dead_by_hand),
		cmocka_unit_test(test_self_refutes),
		cmocka_unit_test(test_late_tick_shifts_deadlines),
		cmocka_unit_test(test_gossip_suspicion_grace),
		cmocka_unit_test(test_dissemination_bounded),
		cmocka_unit_test(test_cluster_suspect_refute),
		cmocka_unit_test(test_cluster_crash_dead),
		cmocka_unit_test(test_cluster_two_members),
		cmocka_unit_test(test_cluster_sigstop_then_cont),
		cmocka_unit_test(test_cluster_indirect_ping_saves),
		cmocka_unit_test(test_cluster_rejoin_restart),
		cmocka_unit_test(test_cluster_partition_heal),
		cmocka_unit_test(test_cluster_16_lossy_crash),
		cmocka_unit_test(test_cluster_no_false_positives),
	};

	return cmocka_run_group_tests_name("swim", tests, NULL, NULL);
}
