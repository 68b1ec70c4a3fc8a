/* SWIM failure detector: state machine, dissemination and message codec (see swim.h). */
#include "swim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"

struct swim_member {
	uint32_t rank;
	uint8_t state;	       /* enum swim_state */
	uint8_t suspect_local; /* this context decided (or confirmed) the suspicion */
	uint64_t inc;
	uint64_t suspect_deadline;
};

/* A recent change to disseminate: the state itself is read from the member table at send time
 * (always the newest), tx counts how often it was piggy-backed. */
struct swim_upd {
	uint32_t rank;
	uint32_t tx;
};

enum probe_phase { PROBE_IDLE = 0, PROBE_DIRECT, PROBE_INDIRECT };

struct swim_ctx {
	uint32_t self;
	uint64_t inc;
	struct swim_ops ops;
	void *arg;
	uint64_t period, ping_to, suspect_to;
	uint32_t k;

	struct swim_member *m; /* sorted by rank, self excluded */
	size_t n, cap;
	uint32_t *scratch;     /* cap entries: subgroup candidates */

	uint32_t *order;       /* probe order for the current round (ranks) */
	size_t norder, pos;
	int order_dirty;

	struct swim_upd upd[SWIM_UPDATES_MAX];
	size_t nupd;

	enum probe_phase phase;
	uint32_t probe_target;
	uint64_t probe_seq;
	uint64_t probe_deadline;
	uint64_t seq;

	int started;
	uint64_t last_tick;
	uint64_t last_heard;   /* last valid message from any member */
	uint64_t next_probe;
	uint32_t periods;      /* probe periods started, for the dead-member probes */
	size_t dead_pos;

	uint64_t rng;
	struct swim_stats st;
};

/* ---------------------------------------------------------------- codec */

static int state_ok(uint8_t s)
{
	return s == SWIM_ALIVE || s == SWIM_SUSPECT || s == SWIM_DEAD;
}

static int type_ok(uint8_t t)
{
	return t == SWIM_MSG_PING || t == SWIM_MSG_ACK || t == SWIM_MSG_PING_REQ;
}

int swim_msg_encode(const struct swim_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	size_t need;
	uint8_t *p;

	if (!type_ok(m->type) || m->nupdates > SWIM_MSG_MAX_UPDATES ||
	    m->target == SWIM_RANK_NONE || m->origin == SWIM_RANK_NONE)
		return -EINVAL;
	for (uint32_t i = 0; i < m->nupdates; i++)
		if (!state_ok(m->updates[i].state) || m->updates[i].rank == SWIM_RANK_NONE)
			return -EINVAL;
	need = SWIM_MSG_HDR_SIZE + (size_t)m->nupdates * SWIM_MSG_UPDATE_SIZE;
	if (cap < need)
		return -ENOSPC;
	p = buf;
	put_le(p, SWIM_MSG_MAGIC, 2);
	p[2] = SWIM_MSG_VERSION;
	p[3] = m->type;
	put_le(p + 4, m->seq, 8);
	put_le(p + 12, m->target, 4);
	put_le(p + 16, m->origin, 4);
	p[20] = (uint8_t)m->nupdates;
	p += SWIM_MSG_HDR_SIZE;
	for (uint32_t i = 0; i < m->nupdates; i++, p += SWIM_MSG_UPDATE_SIZE) {
		put_le(p, m->updates[i].rank, 4);
		p[4] = m->updates[i].state;
		put_le(p + 5, m->updates[i].incarnation, 8);
	}
	*len = need;
	return 0;
}

int swim_msg_decode(const uint8_t *buf, size_t len, struct swim_msg *m)
{
	const uint8_t *p;

	if (buf == NULL || len < SWIM_MSG_HDR_SIZE || get_le(buf, 2) != SWIM_MSG_MAGIC ||
	    buf[2] != SWIM_MSG_VERSION || !type_ok(buf[3]) || buf[20] > SWIM_MSG_MAX_UPDATES ||
	    len != SWIM_MSG_HDR_SIZE + (size_t)buf[20] * SWIM_MSG_UPDATE_SIZE)
		return -EINVAL;
	m->type = buf[3];
	m->seq = get_le(buf + 4, 8);
	m->target = (uint32_t)get_le(buf + 12, 4);
	m->origin = (uint32_t)get_le(buf + 16, 4);
	m->nupdates = buf[20];
	if (m->target == SWIM_RANK_NONE || m->origin == SWIM_RANK_NONE)
		return -EINVAL;
	p = buf + SWIM_MSG_HDR_SIZE;
	for (uint32_t i = 0; i < m->nupdates; i++, p += SWIM_MSG_UPDATE_SIZE) {
		struct swim_update *u = &m->updates[i];

		u->rank = (uint32_t)get_le(p, 4);
		u->state = p[4];
		u->incarnation = get_le(p + 5, 8);
		if (u->rank == SWIM_RANK_NONE || !state_ok(u->state))
			return -EINVAL;
		for (uint32_t j = 0; j < i; j++)
			if (m->updates[j].rank == u->rank)
				return -EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------- helpers */

const char *swim_state_str(enum swim_state s)
{
	switch (s) {
	case SWIM_ALIVE:
		return "ALIVE";
	case SWIM_SUSPECT:
		return "SUSPECT";
	case SWIM_DEAD:
		return "DEAD";
	}
	return "UNKNOWN";
}

const char *swim_dead_reason_str(enum swim_dead_reason r)
{
	switch (r) {
	case SWIM_DEAD_SUSPECT_TIMEOUT:
		return "swim: no answer to direct or indirect pings and the suspicion was not "
		       "refuted within the suspicion timeout";
	case SWIM_DEAD_GOSSIP:
		return "swim: declared dead by another rank";
	case SWIM_DEAD_ISOLATED:
		return "swim: suspicion timed out while this rank heard from no other rank (it "
		       "may be the one cut off)";
	}
	return "swim: unknown reason";
}

static uint64_t rnd(struct swim_ctx *c)
{
	uint64_t x;

	if (c->ops.rand != NULL)
		return c->ops.rand(c->arg);
	x = c->rng; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static struct swim_member *find(const struct swim_ctx *c, uint32_t rank)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->m[mid].rank == rank)
			return &c->m[mid];
		if (c->m[mid].rank < rank)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* About 4 log2(n) sends per update, as the paper's lambda log n; at least 6. */
static uint32_t tx_max(const struct swim_ctx *c)
{
	uint32_t lg = 0;

	while (((size_t)1 << lg) < c->n + 2)
		lg++;
	return lg * 4 < 6 ? 6 : lg * 4;
}

static void upd_push(struct swim_ctx *c, uint32_t rank)
{
	size_t worst = 0;

	for (size_t i = 0; i < c->nupd; i++) {
		if (c->upd[i].rank == rank) {
			c->upd[i].tx = 0;
			return;
		}
		if (c->upd[i].tx > c->upd[worst].tx)
			worst = i;
	}
	if (c->nupd < SWIM_UPDATES_MAX)
		worst = c->nupd++;
	c->upd[worst].rank = rank; /* full: the most-sent entry makes room */
	c->upd[worst].tx = 0;
}

static void upd_remove(struct swim_ctx *c, uint32_t rank)
{
	for (size_t i = 0; i < c->nupd; i++)
		if (c->upd[i].rank == rank) {
			c->upd[i] = c->upd[--c->nupd];
			return;
		}
}

static int has_rank(const struct swim_msg *m, uint32_t rank)
{
	for (uint32_t i = 0; i < m->nupdates; i++)
		if (m->updates[i].rank == rank)
			return 1;
	return 0;
}

static void add_member_entry(struct swim_ctx *c, struct swim_msg *m, uint32_t rank)
{
	struct swim_member *mb;

	if (rank == c->self || has_rank(m, rank) || (mb = find(c, rank)) == NULL)
		return;
	m->updates[m->nupdates].rank = rank;
	m->updates[m->nupdates].state = mb->state;
	m->updates[m->nupdates].incarnation = mb->inc;
	m->nupdates++;
}

/* Builds and sends one message with its piggy-backed updates (see swim.h). */
static void send_msg(struct swim_ctx *c, uint32_t dst, uint8_t type, uint64_t seq,
		     uint32_t target, uint32_t origin)
{
	struct swim_msg m = {.type = type, .seq = seq, .target = target, .origin = origin};
	uint8_t buf[SWIM_MSG_MAX_SIZE];
	uint32_t limit = tx_max(c);
	size_t len;

	m.updates[0].rank = c->self;
	m.updates[0].state = SWIM_ALIVE;
	m.updates[0].incarnation = c->inc;
	m.nupdates = 1;
	add_member_entry(c, &m, dst);
	if (target != dst)
		add_member_entry(c, &m, target);
	/* the least-sent updates first: the freshest news travels fastest */
	for (uint32_t sent = 0; sent < SWIM_PIGGYBACK_MAX && c->nupd > 0; sent++) {
		size_t best = SIZE_MAX;

		for (size_t i = 0; i < c->nupd; i++) {
			if (has_rank(&m, c->upd[i].rank))
				continue;
			if (best == SIZE_MAX || c->upd[i].tx < c->upd[best].tx)
				best = i;
		}
		if (best == SIZE_MAX)
			break;
		add_member_entry(c, &m, c->upd[best].rank);
		if (!has_rank(&m, c->upd[best].rank)) { /* member gone: drop its update */
			c->upd[best] = c->upd[--c->nupd];
			continue;
		}
		if (++c->upd[best].tx >= limit)
			c->upd[best] = c->upd[--c->nupd];
	}
	if (swim_msg_encode(&m, buf, sizeof(buf), &len) != 0)
		return; /* cannot happen: every field is ours */
	(void)c->ops.send(c->arg, dst, buf, len);
}

static void set_dead(struct swim_ctx *c, struct swim_member *mb, uint64_t inc,
		     enum swim_dead_reason why, uint64_t now)
{
	if (why == SWIM_DEAD_SUSPECT_TIMEOUT && now >= c->last_heard &&
	    now - c->last_heard >= c->suspect_to)
		why = SWIM_DEAD_ISOLATED; /* we heard nobody: maybe we are the one cut off */
	mb->state = SWIM_DEAD;
	mb->inc = inc;
	mb->suspect_local = 0;
	upd_push(c, mb->rank);
	if (c->phase != PROBE_IDLE && c->probe_target == mb->rank)
		c->phase = PROBE_IDLE;
	if (why != SWIM_DEAD_GOSSIP)
		c->st.deaths_decided++;
	c->ops.member_dead(c->arg, mb->rank, inc, why);
}

static void set_suspect(struct swim_ctx *c, struct swim_member *mb, uint64_t inc, uint32_t from,
			uint64_t now)
{
	if (mb->state == SWIM_DEAD)
		c->order_dirty = 1; /* probe-able again */
	mb->state = SWIM_SUSPECT;
	mb->inc = inc;
	mb->suspect_local = from == c->self;
	mb->suspect_deadline = now + c->suspect_to;
	upd_push(c, mb->rank);
	if (c->ops.member_suspect != NULL)
		c->ops.member_suspect(c->arg, mb->rank, inc, from);
}

/* Applies one disseminated update heard from src (SWIM's precedence rules). */
static void apply_update(struct swim_ctx *c, uint32_t src, const struct swim_update *u,
			 uint64_t now)
{
	struct swim_member *mb;

	if (u->rank == c->self) {
		if (u->state != SWIM_ALIVE && u->incarnation >= c->inc) {
			/* refute: a newer incarnation of "ALIVE" overrides the suspicion */
			c->inc = u->incarnation == UINT64_MAX ? UINT64_MAX : u->incarnation + 1;
			c->st.refutes++;
			if (c->ops.self_incarnation != NULL)
				c->ops.self_incarnation(c->arg, c->inc);
		} else if (u->state == SWIM_ALIVE && u->incarnation > c->inc) {
			c->inc = u->incarnation; /* restarted with a stale incarnation: catch up */
			if (c->ops.self_incarnation != NULL)
				c->ops.self_incarnation(c->arg, c->inc);
		}
		return;
	}
	mb = find(c, u->rank);
	if (mb == NULL)
		return; /* not in our map (yet): the group map decides membership */
	switch (u->state) {
	case SWIM_ALIVE:
		if (u->incarnation > mb->inc) {
			int was_dead = mb->state == SWIM_DEAD;

			mb->state = SWIM_ALIVE;
			mb->inc = u->incarnation;
			mb->suspect_local = 0;
			upd_push(c, mb->rank);
			if (was_dead) {
				c->order_dirty = 1;
				if (c->ops.member_alive != NULL)
					c->ops.member_alive(c->arg, mb->rank, mb->inc);
			}
		}
		break;
	case SWIM_SUSPECT:
		if ((mb->state == SWIM_ALIVE && u->incarnation >= mb->inc) ||
		    u->incarnation > mb->inc)
			set_suspect(c, mb, u->incarnation, src, now);
		break;
	case SWIM_DEAD:
		if ((mb->state != SWIM_DEAD && u->incarnation >= mb->inc) ||
		    u->incarnation > mb->inc)
			set_dead(c, mb, u->incarnation, SWIM_DEAD_GOSSIP, now);
		break;
	}
}

/* ---------------------------------------------------------------- probing */

static void rebuild_order(struct swim_ctx *c)
{
	c->norder = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->m[i].state != SWIM_DEAD)
			c->order[c->norder++] = c->m[i].rank;
	for (size_t i = c->norder; i > 1; i--) { /* Fisher-Yates */
		size_t j = (size_t)(rnd(c) % i);
		uint32_t t = c->order[i - 1];

		c->order[i - 1] = c->order[j];
		c->order[j] = t;
	}
	c->pos = 0;
	c->order_dirty = 0;
}

static uint32_t next_target(struct swim_ctx *c)
{
	for (int round = 0; round < 2; round++) {
		if (c->order_dirty || c->pos >= c->norder)
			rebuild_order(c);
		while (c->pos < c->norder) {
			struct swim_member *mb = find(c, c->order[c->pos++]);

			if (mb != NULL && mb->state != SWIM_DEAD)
				return mb->rank;
		}
	}
	return SWIM_RANK_NONE;
}

static void ping_dead_member(struct swim_ctx *c)
{
	for (size_t tries = 0; tries < c->n; tries++) {
		struct swim_member *mb = &c->m[c->dead_pos++ % c->n];

		if (mb->state == SWIM_DEAD) {
			/* untracked: the answer (if any) carries its new incarnation */
			send_msg(c, mb->rank, SWIM_MSG_PING, ++c->seq, mb->rank, c->self);
			return;
		}
	}
}

/* The direct ping went unanswered: ask up to k ALIVE members to ping the target. */
static int send_ping_reqs(struct swim_ctx *c)
{
	size_t ncand = 0, want;

	for (size_t i = 0; i < c->n; i++)
		if (c->m[i].state == SWIM_ALIVE && c->m[i].rank != c->probe_target)
			c->scratch[ncand++] = c->m[i].rank;
	want = c->k < ncand ? c->k : ncand;
	for (size_t i = 0; i < want; i++) {
		size_t j = i + (size_t)(rnd(c) % (ncand - i));
		uint32_t t = c->scratch[i];

		c->scratch[i] = c->scratch[j];
		c->scratch[j] = t;
		send_msg(c, c->scratch[i], SWIM_MSG_PING_REQ, c->probe_seq, c->probe_target,
			 c->self);
		c->st.ping_reqs_sent++;
	}
	return (int)want;
}

static void probe_failed(struct swim_ctx *c, uint64_t now)
{
	struct swim_member *mb = find(c, c->probe_target);

	c->phase = PROBE_IDLE;
	if (mb == NULL || mb->state == SWIM_DEAD)
		return;
	if (mb->state == SWIM_SUSPECT) {
		mb->suspect_local = 1; /* confirmed by our own probe: our decision now */
		return;
	}
	c->st.suspects++;
	set_suspect(c, mb, mb->inc, c->self, now);
	/* tell it at once: if it is merely slow, it refutes on this ping */
	send_msg(c, mb->rank, SWIM_MSG_PING, ++c->seq, mb->rank, c->self);
}

static void shift_deadlines(struct swim_ctx *c, uint64_t delay)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->m[i].state == SWIM_SUSPECT)
			c->m[i].suspect_deadline += delay;
	if (c->phase != PROBE_IDLE)
		c->probe_deadline += delay;
	c->next_probe += delay;
	c->last_heard += delay;
	c->st.glitches++;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t swim_tick(struct swim_ctx *c, uint64_t now)
{
	uint64_t next;

	if (!c->started) {
		c->started = 1;
		c->last_tick = now;
		c->last_heard = now;
		/* a random phase so engines started together do not probe in lockstep */
		c->next_probe = now + c->period + rnd(c) % c->period;
	} else if (now > c->last_tick && now - c->last_tick > c->period) {
		/* our own thread was late: whatever we did not hear meanwhile is not the others'
		 * fault, so the stall does not count against their deadlines */
		shift_deadlines(c, now - c->last_tick);
	}
	if (now > c->last_tick)
		c->last_tick = now;

	if (c->phase == PROBE_DIRECT && now >= c->probe_deadline) {
		if (send_ping_reqs(c) > 0) {
			c->phase = PROBE_INDIRECT;
			c->probe_deadline = now + c->ping_to;
		} else {
			probe_failed(c, now);
		}
	} else if (c->phase == PROBE_INDIRECT && now >= c->probe_deadline) {
		probe_failed(c, now);
	}
	if (c->phase == PROBE_IDLE && now >= c->next_probe) {
		uint32_t t = next_target(c);

		c->next_probe = now + c->period;
		if (++c->periods % SWIM_DEAD_PROBE_PERIODS == 0)
			ping_dead_member(c);
		if (t != SWIM_RANK_NONE) {
			c->phase = PROBE_DIRECT;
			c->probe_target = t;
			c->probe_seq = ++c->seq;
			c->probe_deadline = now + c->ping_to;
			c->st.pings_sent++;
			send_msg(c, t, SWIM_MSG_PING, c->probe_seq, t, c->self);
		}
	}

	for (size_t i = 0; i < c->n; i++) {
		struct swim_member *mb = &c->m[i];

		if (mb->state != SWIM_SUSPECT || now < mb->suspect_deadline)
			continue;
		if (mb->suspect_local) {
			set_dead(c, mb, mb->inc, SWIM_DEAD_SUSPECT_TIMEOUT, now);
		} else {
			/* heard from another member: give the decider's DEAD time to arrive
			 * first, then decide ourselves */
			mb->suspect_local = 1;
			mb->suspect_deadline = now + c->period + c->ping_to;
		}
	}

	next = c->phase != PROBE_IDLE ? c->probe_deadline : c->next_probe;
	for (size_t i = 0; i < c->n; i++)
		if (c->m[i].state == SWIM_SUSPECT)
			next = min_u64(next, c->m[i].suspect_deadline);
	return next;
}

int swim_recv(struct swim_ctx *c, uint32_t src, const uint8_t *buf, size_t len, uint64_t now)
{
	struct swim_msg m;
	struct swim_member *smb;

	if (swim_msg_decode(buf, len, &m) != 0) {
		c->st.bad_msgs++;
		return -EINVAL;
	}
	if (src == c->self || (smb = find(c, src)) == NULL) {
		c->st.bad_msgs++;
		return src == c->self ? -EINVAL : -ENOENT;
	}
	/* the sender's own ALIVE entry comes first; the roles must fit the type */
	if (m.nupdates < 1 || m.updates[0].rank != src || m.updates[0].state != SWIM_ALIVE ||
	    (m.type == SWIM_MSG_PING && (m.target != c->self || m.origin == c->self ||
					 (m.origin != src && find(c, m.origin) == NULL))) ||
	    (m.type == SWIM_MSG_PING_REQ && (m.origin != src || m.target == c->self ||
					     m.target == src || find(c, m.target) == NULL)) ||
	    (m.type == SWIM_MSG_ACK && m.origin != c->self &&
	     (m.target != src || find(c, m.origin) == NULL))) {
		c->st.bad_msgs++;
		return -EINVAL;
	}
	if (now > c->last_heard)
		c->last_heard = now;
	for (uint32_t i = 0; i < m.nupdates; i++)
		apply_update(c, src, &m.updates[i], now);

	switch (m.type) {
	case SWIM_MSG_PING:
		send_msg(c, src, SWIM_MSG_ACK, m.seq, c->self, m.origin);
		break;
	case SWIM_MSG_PING_REQ:
		c->st.relays++;
		send_msg(c, m.target, SWIM_MSG_PING, m.seq, m.target, m.origin);
		break;
	case SWIM_MSG_ACK:
		if (m.origin != c->self) {
			send_msg(c, m.origin, SWIM_MSG_ACK, m.seq, m.target, m.origin);
		} else if (c->phase != PROBE_IDLE && m.seq == c->probe_seq &&
			   m.target == c->probe_target) {
			if (c->phase == PROBE_INDIRECT)
				c->st.indirect_saves++;
			c->st.acks_received++;
			c->phase = PROBE_IDLE;
		}
		break;
	}
	return 0;
}

/* ---------------------------------------------------------------- membership */

static int grow(struct swim_ctx *c)
{
	size_t cap = c->cap ? c->cap * 2 : 16;
	struct swim_member *m;
	uint32_t *o, *s;

	if (cap > SWIM_MAX_MEMBERS)
		cap = SWIM_MAX_MEMBERS;
	m = realloc(c->m, cap * sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	c->m = m;
	o = realloc(c->order, cap * sizeof(*o));
	if (o == NULL)
		return -ENOMEM;
	c->order = o;
	s = realloc(c->scratch, cap * sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	c->scratch = s;
	c->cap = cap;
	return 0;
}

int swim_member_add(struct swim_ctx *c, uint32_t rank, uint64_t inc)
{
	struct swim_member *mb;
	size_t at;
	int rc;

	if (rank == SWIM_RANK_NONE)
		return -EINVAL;
	if (rank == c->self) {
		if (inc > c->inc)
			c->inc = inc;
		return 0;
	}
	mb = find(c, rank);
	if (mb != NULL) {
		if (inc > mb->inc) { /* restarted engine, newer incarnation in the map */
			int was_dead = mb->state == SWIM_DEAD;

			mb->state = SWIM_ALIVE;
			mb->inc = inc;
			mb->suspect_local = 0;
			upd_push(c, rank);
			if (was_dead) {
				c->order_dirty = 1;
				if (c->ops.member_alive != NULL)
					c->ops.member_alive(c->arg, rank, inc);
			}
		}
		return 0;
	}
	if (c->n + 1 >= SWIM_MAX_MEMBERS)
		return -ENOSPC;
	if (c->n == c->cap && (rc = grow(c)) != 0)
		return rc;
	for (at = c->n; at > 0 && c->m[at - 1].rank > rank; at--)
		;
	memmove(&c->m[at + 1], &c->m[at], (c->n - at) * sizeof(c->m[0]));
	c->m[at] = (struct swim_member){.rank = rank, .state = SWIM_ALIVE, .inc = inc};
	c->n++;
	c->order_dirty = 1;
	return 0;
}

int swim_member_del(struct swim_ctx *c, uint32_t rank)
{
	struct swim_member *mb;
	size_t at;

	if (rank == c->self)
		return -EINVAL;
	mb = find(c, rank);
	if (mb == NULL)
		return -ENOENT;
	at = (size_t)(mb - c->m);
	memmove(&c->m[at], &c->m[at + 1], (c->n - at - 1) * sizeof(c->m[0]));
	c->n--;
	upd_remove(c, rank);
	if (c->phase != PROBE_IDLE && c->probe_target == rank)
		c->phase = PROBE_IDLE;
	c->order_dirty = 1;
	return 0;
}

int swim_member_get(const struct swim_ctx *c, uint32_t rank, enum swim_state *state,
		    uint64_t *inc)
{
	const struct swim_member *mb;

	if (rank == c->self) {
		*state = SWIM_ALIVE;
		*inc = c->inc;
		return 0;
	}
	mb = find(c, rank);
	if (mb == NULL)
		return -ENOENT;
	*state = (enum swim_state)mb->state;
	*inc = mb->inc;
	return 0;
}

size_t swim_member_count(const struct swim_ctx *c)
{
	return c->n + 1;
}

uint64_t swim_self_incarnation(const struct swim_ctx *c)
{
	return c->inc;
}

void swim_stats_get(const struct swim_ctx *c, struct swim_stats *out)
{
	*out = c->st;
}

/* ---------------------------------------------------------------- life cycle */

int swim_init(struct swim_ctx **out, uint32_t self, uint64_t inc, const struct swim_ops *ops,
	      void *arg, const struct dss_tunables *t)
{
	struct swim_ctx *c;

	*out = NULL;
	if (self == SWIM_RANK_NONE || ops == NULL || ops->send == NULL ||
	    ops->member_dead == NULL || t == NULL || t->swim_period_ms == 0 ||
	    t->swim_ping_timeout_ms == 0 || t->swim_suspect_timeout_ms == 0 ||
	    t->swim_subgroup_size > SWIM_SUBGROUP_MAX)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->self = self;
	c->inc = inc;
	c->ops = *ops;
	c->arg = arg;
	c->period = t->swim_period_ms;
	c->ping_to = t->swim_ping_timeout_ms;
	c->suspect_to = t->swim_suspect_timeout_ms;
	c->k = t->swim_subgroup_size;
	c->rng = 0x9E3779B97F4A7C15ULL * ((uint64_t)self + 1) ^ inc;
	if (c->rng == 0)
		c->rng = 1;
	*out = c;
	return 0;
}

void swim_fini(struct swim_ctx *c)
{
	if (c == NULL)
		return;
	free(c->m);
	free(c->order);
	free(c->scratch);
	free(c);
}
