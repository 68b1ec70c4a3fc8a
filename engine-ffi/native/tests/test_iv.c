/*
 * cmocka tests of IV (incast variables): the codec, and a simulated cluster of N namespaces in
 * this process over a k-ary tree rooted at the IV leader, on a fake clock and a fake network
 * (per-rank down switch, message capture). Simulated time only, bounded loops.
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

#include "iv.h"

#define MAXN	 32
#define CLS	 7
#define KEY	 ((const uint8_t *)"pool-map")
#define KLEN	 8

struct ivsim;

struct rank_arg {
	struct ivsim *s;
	uint32_t rank;
};

struct qmsg {
	uint32_t src, dst;
	uint8_t *buf;
	size_t len;
};

/* The class's source, on the root: one value per key (one key here). */
struct source {
	uint8_t val[256];
	size_t len;
	uint64_t version;
	int have;
	int fetches, updates, refuse;
};

struct ivsim {
	int n, k;
	uint32_t leader;
	uint64_t now;
	struct iv_ns *ns[MAXN];
	struct rank_arg args[MAXN];
	struct qmsg *q;
	size_t nq, capq;
	int down[MAXN];
	uint64_t sent_by[MAXN];
	uint64_t recv_by[MAXN];
	struct source src;
	int refreshed[MAXN];
	uint64_t refreshed_ver[MAXN];
	int refreshed_null[MAXN];
};

/* ---------------------------------------------------------------- k-ary tree over 0..n-1 */

static uint32_t pos_of(const struct ivsim *s, uint32_t rank)
{
	return (rank + (uint32_t)s->n - s->leader) % (uint32_t)s->n;
}

static uint32_t rank_at(const struct ivsim *s, uint32_t pos)
{
	return (pos + s->leader) % (uint32_t)s->n;
}

static uint32_t cb_parent(void *arg, uint32_t rank)
{
	struct rank_arg *a = arg;
	uint32_t p = pos_of(a->s, rank);

	return p == 0 ? IV_RANK_NONE : rank_at(a->s, (p - 1) / (uint32_t)a->s->k);
}

static size_t cb_children(void *arg, uint32_t rank, uint32_t *out, size_t max)
{
	struct rank_arg *a = arg;
	uint32_t p = pos_of(a->s, rank);
	size_t n = 0;

	for (uint32_t c = p * (uint32_t)a->s->k + 1;
	     c <= p * (uint32_t)a->s->k + (uint32_t)a->s->k && c < (uint32_t)a->s->n; c++) {
		if (n < max)
			out[n] = rank_at(a->s, c);
		n++;
	}
	return n;
}

static int cb_send(void *arg, uint32_t dst, const uint8_t *buf, size_t len)
{
	struct rank_arg *a = arg;
	struct ivsim *s = a->s;
	struct iv_msg m;

	assert_true(dst < (uint32_t)s->n);
	assert_int_equal(iv_msg_decode(buf, len, &m), 0); /* everything sent is strict */
	if (s->nq == s->capq) {
		s->capq = s->capq ? s->capq * 2 : 64;
		s->q = realloc(s->q, s->capq * sizeof(*s->q));
		assert_non_null(s->q);
	}
	s->q[s->nq].src = a->rank;
	s->q[s->nq].dst = dst;
	s->q[s->nq].buf = malloc(len);
	assert_non_null(s->q[s->nq].buf);
	memcpy(s->q[s->nq].buf, buf, len);
	s->q[s->nq].len = len;
	s->nq++;
	s->sent_by[a->rank]++;
	return 0;
}

static const struct iv_ops sim_ops = {
	.send = cb_send, .parent_of = cb_parent, .children_of = cb_children};

/* ---------------------------------------------------------------- the test class */

static int cls_fetch(void *arg, const uint8_t *key, size_t klen, const uint8_t **val,
		     size_t *len, uint64_t *version)
{
	struct rank_arg *a = arg;
	struct source *src = &a->s->src;

	assert_int_equal(a->rank, a->s->leader); /* only the root reads the source */
	assert_true(klen == KLEN && memcmp(key, KEY, KLEN) == 0);
	src->fetches++;
	if (!src->have)
		return -ENOENT;
	*val = src->val;
	*len = src->len;
	*version = src->version;
	return 0;
}

static int cls_update(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t len, uint64_t version, int invalidate)
{
	struct rank_arg *a = arg;
	struct source *src = &a->s->src;

	(void)key;
	(void)klen;
	assert_int_equal(a->rank, a->s->leader);
	if (src->refuse)
		return -EPERM;
	src->updates++;
	if (invalidate)
		return 0; /* the source keeps its value; caches drop theirs */
	assert_true(len <= sizeof(src->val));
	memcpy(src->val, val, len);
	src->len = len;
	src->version = version;
	src->have = 1;
	return 0;
}

static void cls_refresh(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
			size_t len, uint64_t version)
{
	struct rank_arg *a = arg;

	(void)key;
	(void)klen;
	(void)len;
	a->s->refreshed[a->rank]++;
	a->s->refreshed_ver[a->rank] = version;
	if (val == NULL)
		a->s->refreshed_null[a->rank]++;
}

static const struct iv_class_ops cls_ops = {
	.fetch = cls_fetch, .update = cls_update, .refresh = cls_refresh};

/* ---------------------------------------------------------------- cluster */

static void start_rank(struct ivsim *s, int r)
{
	if (s->ns[r] != NULL)
		iv_fini(s->ns[r]);
	s->args[r] = (struct rank_arg){.s = s, .rank = (uint32_t)r};
	assert_int_equal(iv_init(&s->ns[r], (uint32_t)r, &sim_ops, &s->args[r], 5000), 0);
	assert_int_equal(iv_class_register(s->ns[r], CLS, &cls_ops, &s->args[r]), 0);
}

static struct ivsim *sim_new(int n, int k, uint32_t leader)
{
	struct ivsim *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->n = n;
	s->k = k;
	s->leader = leader;
	s->now = 1000000;
	for (int r = 0; r < n; r++)
		start_rank(s, r);
	return s;
}

static void drop_queue(struct ivsim *s)
{
	for (size_t i = 0; i < s->nq; i++)
		free(s->q[i].buf);
	s->nq = 0;
}

static void sim_free(struct ivsim *s)
{
	for (int r = 0; r < s->n; r++)
		iv_fini(s->ns[r]);
	drop_queue(s);
	free(s->q);
	free(s);
}

/* Delivers everything in flight (and what it causes), 1 ms per hop. Returns messages. */
static int deliver_all(struct ivsim *s)
{
	int delivered = 0;

	for (int round = 0; round < 100 && s->nq > 0; round++) {
		size_t n = s->nq;
		struct qmsg *batch = malloc(n * sizeof(*batch));

		assert_non_null(batch);
		memcpy(batch, s->q, n * sizeof(*batch));
		s->nq = 0;
		s->now += 1;
		for (size_t i = 0; i < n; i++) {
			if (!s->down[batch[i].dst]) {
				s->recv_by[batch[i].dst]++;
				(void)iv_recv(s->ns[batch[i].dst], batch[i].src, batch[i].buf,
					      batch[i].len, s->now);
				delivered++;
			}
			free(batch[i].buf);
		}
		free(batch);
	}
	assert_int_equal(s->nq, 0); /* quiescent: no message storm */
	return delivered;
}

static void set_source(struct ivsim *s, const char *val, uint64_t version)
{
	s->src.len = strlen(val);
	memcpy(s->src.val, val, s->src.len);
	s->src.version = version;
	s->src.have = 1;
}

/* ---------------------------------------------------------------- completions */

struct fetch_res {
	int calls, rc;
	char val[256];
	size_t len;
	uint64_t version;
};

static void on_fetch(void *arg, int rc, const uint8_t *val, size_t len, uint64_t version)
{
	struct fetch_res *r = arg;

	r->calls++;
	r->rc = rc;
	r->len = len;
	r->version = version;
	memset(r->val, 0, sizeof(r->val));
	if (rc == 0 && len > 0)
		memcpy(r->val, val, len < sizeof(r->val) - 1 ? len : sizeof(r->val) - 1);
}

struct upd_res {
	int calls, rc;
	uint64_t version;
};

static void on_update(void *arg, int rc, uint64_t version)
{
	struct upd_res *r = arg;

	r->calls++;
	r->rc = rc;
	r->version = version;
}

static int cached(struct ivsim *s, int r, uint64_t *version, char *val)
{
	const uint8_t *v;
	size_t len;
	uint64_t ver;
	int rc = iv_cache_get(s->ns[r], CLS, KEY, KLEN, &v, &len, &ver);

	if (rc == 0) {
		if (version != NULL)
			*version = ver;
		if (val != NULL) {
			memcpy(val, v, len);
			val[len] = '\0';
		}
	}
	return rc;
}

/* ================================================================ codec */

static size_t enc(const struct iv_msg *m, uint8_t *buf, size_t cap)
{
	size_t len = 0;

	assert_int_equal(iv_msg_encode(m, buf, cap, &len), 0);
	return len;
}

static void test_codec_roundtrip(void **state)
{
	const uint8_t val[] = "value-bytes";
	struct iv_msg msgs[] = {
		{.type = IV_MSG_FETCH, .class_id = 3, .req_id = 9, .key_len = KLEN, .key = KEY},
		{.type = IV_MSG_FETCH_REPLY, .class_id = 3, .req_id = 9, .version = 4,
		 .key_len = KLEN, .key = KEY, .val_len = sizeof(val), .val = val},
		{.type = IV_MSG_FETCH_REPLY, .class_id = 3, .req_id = 9, .status = -ENOENT,
		 .key_len = KLEN, .key = KEY},
		{.type = IV_MSG_UPDATE, .class_id = 3, .req_id = 1, .version = 5, .key_len = KLEN,
		 .key = KEY, .val_len = sizeof(val), .val = val},
		{.type = IV_MSG_UPDATE, .flags = IV_F_INVALIDATE, .class_id = 3, .req_id = 1,
		 .version = 5, .key_len = KLEN, .key = KEY},
		{.type = IV_MSG_UPDATE_REPLY, .class_id = 3, .req_id = 1, .status = -ESTALE,
		 .version = 5, .key_len = KLEN, .key = KEY},
		{.type = IV_MSG_REFRESH, .class_id = 3, .version = 0xFFFFFFFFFFFFFFFFULL,
		 .key_len = IV_KEY_MAX, .key = (const uint8_t *)
		 "0123456789012345678901234567890123456789012345678901234567890123"},
		{.type = IV_MSG_REFRESH, .class_id = 3, .version = 2, .key_len = 1, .key = KEY,
		 .val_len = 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		uint8_t buf[512], again[512];
		struct iv_msg back;
		size_t len = enc(&msgs[i], buf, sizeof(buf)), len2;

		assert_int_equal(len, IV_MSG_HDR_SIZE + msgs[i].key_len + msgs[i].val_len);
		assert_int_equal(iv_msg_decode(buf, len, &back), 0);
		assert_int_equal(back.type, msgs[i].type);
		assert_int_equal(back.flags, msgs[i].flags);
		assert_int_equal(back.class_id, msgs[i].class_id);
		assert_true(back.req_id == msgs[i].req_id);
		assert_int_equal(back.status, msgs[i].status);
		assert_true(back.version == msgs[i].version);
		assert_int_equal(back.key_len, msgs[i].key_len);
		assert_memory_equal(back.key, msgs[i].key, back.key_len);
		assert_int_equal(back.val_len, msgs[i].val_len);
		if (back.val_len > 0)
			assert_memory_equal(back.val, msgs[i].val, back.val_len);
		else
			assert_null(back.val);
		assert_int_equal(iv_msg_encode(&back, again, sizeof(again), &len2), 0);
		assert_int_equal(len2, len);
		assert_memory_equal(again, buf, len);
		assert_int_equal(iv_msg_encode(&msgs[i], buf, len - 1, &len2), -ENOSPC);
	}
}

static void test_codec_rejects(void **state)
{
	const uint8_t val[] = "v";
	struct iv_msg good = {.type = IV_MSG_FETCH_REPLY, .class_id = 3, .req_id = 9,
			      .version = 4, .key_len = KLEN, .key = KEY, .val_len = 1,
			      .val = val}, out;
	struct iv_msg bad_structs[] = {
		{.type = 0, .req_id = 1, .key_len = 1, .key = KEY},
		{.type = 6, .req_id = 1, .key_len = 1, .key = KEY},
		{.type = IV_MSG_FETCH, .req_id = 1, .key_len = 0, .key = KEY},
		{.type = IV_MSG_FETCH, .req_id = 1, .key_len = IV_KEY_MAX + 1, .key = KEY},
		{.type = IV_MSG_FETCH, .req_id = 0, .key_len = 1, .key = KEY},      /* no id */
		{.type = IV_MSG_FETCH, .req_id = 1, .key_len = 1, .key = KEY, .version = 1},
		{.type = IV_MSG_FETCH, .req_id = 1, .key_len = 1, .key = KEY, .status = -1},
		{.type = IV_MSG_FETCH, .req_id = 1, .key_len = 1, .key = KEY, .val_len = 1,
		 .val = val},
		{.type = IV_MSG_FETCH, .flags = IV_F_INVALIDATE, .req_id = 1, .key_len = 1,
		 .key = KEY},
		{.type = IV_MSG_FETCH_REPLY, .req_id = 1, .key_len = 1, .key = KEY, .status = 1},
		{.type = IV_MSG_FETCH_REPLY, .req_id = 1, .key_len = 1, .key = KEY,
		 .status = -4096},
		{.type = IV_MSG_FETCH_REPLY, .req_id = 1, .key_len = 1, .key = KEY, .version = 0},
		{.type = IV_MSG_FETCH_REPLY, .req_id = 1, .key_len = 1, .key = KEY, .status = -2,
		 .val_len = 1, .val = val},
		{.type = IV_MSG_UPDATE, .req_id = 1, .key_len = 1, .key = KEY, .version = 0},
		{.type = IV_MSG_UPDATE, .flags = IV_F_INVALIDATE, .req_id = 1, .key_len = 1,
		 .key = KEY, .version = 1, .val_len = 1, .val = val},
		{.type = IV_MSG_UPDATE, .flags = 0x02, .req_id = 1, .key_len = 1, .key = KEY,
		 .version = 1},
		{.type = IV_MSG_UPDATE_REPLY, .req_id = 1, .key_len = 1, .key = KEY, .version = 1,
		 .val_len = 1, .val = val},
		{.type = IV_MSG_REFRESH, .req_id = 1, .key_len = 1, .key = KEY, .version = 1},
		{.type = IV_MSG_REFRESH, .key_len = 1, .key = KEY, .version = 0},
		{.type = IV_MSG_REFRESH, .key_len = 1, .key = KEY, .version = 1,
		 .val_len = IV_VALUE_MAX + 1, .val = val},
	};
	uint8_t buf[512], mut[513];
	size_t len, tmp;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_structs) / sizeof(bad_structs[0]); i++)
		assert_int_equal(iv_msg_encode(&bad_structs[i], buf, sizeof(buf), &tmp), -EINVAL);
	len = enc(&good, buf, sizeof(buf));
	assert_int_equal(iv_msg_decode(buf, len, &out), 0);
	assert_int_equal(iv_msg_decode(NULL, 0, &out), -EINVAL);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(iv_msg_decode(buf, cut, &out), -EINVAL);
	memcpy(mut, buf, len);
	mut[len] = 0;
	assert_int_equal(iv_msg_decode(mut, len + 1, &out), -EINVAL);
#define MUTATE(off, v)                                                     \
	do {                                                               \
		memcpy(mut, buf, len);                                     \
		mut[off] = (uint8_t)(v);                                   \
		assert_int_equal(iv_msg_decode(mut, len, &out), -EINVAL);  \
	} while (0)
	MUTATE(0, 'X');	   /* magic */
	MUTATE(2, 9);	   /* version */
	MUTATE(3, 0);	   /* type */
	MUTATE(4, 1);	   /* invalidate flag on a reply */
	MUTATE(17, 1);	   /* positive status */
	MUTATE(29, 0);	   /* key length 0 */
	MUTATE(29, 65);	   /* key length past the max */
	MUTATE(31, 2);	   /* value length disagrees with the bytes */
	MUTATE(34, 0x80);  /* huge value length */
	memcpy(mut, buf, len);
	memset(mut + 9, 0, 8); /* no request id on a reply */
	assert_int_equal(iv_msg_decode(mut, len, &out), -EINVAL);
#undef MUTATE
}

/* ================================================================ cluster */

/* A fetch on a leaf misses everywhere on the way up, the root reads its source, and every
 * rank on the way back caches the value: a sibling's fetch stops at the shared parent. */
static void test_fetch_miss_through_parents(void **state)
{
	struct ivsim *s = sim_new(13, 3, 0);
	struct fetch_res a = {0}, b = {0}, c = {0}, d = {0};
	struct iv_stats st;
	uint64_t ver;
	char val[64];

	(void)state;
	set_source(s, "map-v3", 3);
	assert_int_equal(iv_fetch(s->ns[12], CLS, KEY, KLEN, on_fetch, &a, s->now), 0);
	assert_int_equal(a.calls, 0); /* a miss: asynchronous */
	deliver_all(s);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.rc, 0);
	assert_string_equal(a.val, "map-v3");
	assert_true(a.version == 3);
	assert_int_equal(s->src.fetches, 1);
	/* cached on the path 12 → 3 → 0, nowhere else */
	for (int r = 0; r < 13; r++) {
		int on_path = r == 12 || r == 3 || r == 0;

		assert_int_equal(cached(s, r, &ver, val), on_path ? 0 : -ENOENT);
		if (on_path) {
			assert_string_equal(val, "map-v3");
			assert_true(ver == 3);
		}
	}
	assert_int_equal(s->recv_by[3], 2); /* the FETCH from 12 and the reply from 0 */
	/* the sibling's fetch is answered by the shared parent 3: the root hears nothing */
	memset(s->recv_by, 0, sizeof(s->recv_by));
	assert_int_equal(iv_fetch(s->ns[11], CLS, KEY, KLEN, on_fetch, &b, s->now), 0);
	deliver_all(s);
	assert_int_equal(b.calls, 1);
	assert_string_equal(b.val, "map-v3");
	assert_int_equal(s->recv_by[0], 0);
	assert_int_equal(s->src.fetches, 1);
	/* two concurrent fetches on rank 5 share one request upstream */
	assert_int_equal(iv_fetch(s->ns[5], CLS, KEY, KLEN, on_fetch, &c, s->now), 0);
	assert_int_equal(iv_fetch(s->ns[5], CLS, KEY, KLEN, on_fetch, &d, s->now), 0);
	iv_stats_get(s->ns[5], &st);
	assert_int_equal(st.fetch_forwarded, 1);
	deliver_all(s);
	assert_int_equal(c.calls, 1);
	assert_int_equal(d.calls, 1);
	assert_string_equal(d.val, "map-v3");
	assert_int_equal(s->src.fetches, 1); /* the root's cache answered rank 1 */
	/* a hit is synchronous */
	memset(&a, 0, sizeof(a));
	assert_int_equal(iv_fetch(s->ns[12], CLS, KEY, KLEN, on_fetch, &a, s->now), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(s->nq, 0);
	sim_free(s);
}

/* A fetch of a value the source does not have fails on the leaf with the source's error. */
static void test_fetch_missing_value(void **state)
{
	struct ivsim *s = sim_new(13, 3, 0);
	struct fetch_res a = {0};

	(void)state;
	assert_int_equal(iv_fetch(s->ns[9], CLS, KEY, KLEN, on_fetch, &a, s->now), 0);
	deliver_all(s);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.rc, -ENOENT);
	assert_int_equal(cached(s, 2, NULL, NULL), -ENOENT);
	sim_free(s);
}

/* An update from a leaf goes up to the root (leader 5 here), which applies it to its source
 * and pushes it down: every rank caches the new value and its class sees one refresh. */
static void test_update_reaches_every_rank(void **state)
{
	struct ivsim *s = sim_new(13, 3, 5);
	struct upd_res u = {0};
	struct fetch_res f = {0};
	uint64_t ver;
	char val[64];

	(void)state;
	set_source(s, "map-v3", 3);
	assert_int_equal(iv_update(s->ns[1], CLS, KEY, KLEN, (const uint8_t *)"map-v4", 6, 4,
				   on_update, &u, s->now),
			 0);
	deliver_all(s);
	assert_int_equal(u.calls, 1);
	assert_int_equal(u.rc, 0);
	assert_true(u.version == 4);
	assert_int_equal(s->src.updates, 1);
	assert_string_equal((char *)s->src.val, "map-v4");
	for (int r = 0; r < 13; r++) {
		assert_int_equal(cached(s, r, &ver, val), 0);
		assert_string_equal(val, "map-v4");
		assert_true(ver == 4);
		assert_int_equal(s->refreshed[r], 1);
		assert_true(s->refreshed_ver[r] == 4);
	}
	/* the root answers from its cache; the updater reads its own write at once */
	assert_int_equal(iv_fetch(s->ns[1], CLS, KEY, KLEN, on_fetch, &f, s->now), 0);
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.val, "map-v4");
	/* an update on the root itself completes synchronously and reaches everybody too */
	memset(&u, 0, sizeof(u));
	assert_int_equal(iv_update(s->ns[5], CLS, KEY, KLEN, (const uint8_t *)"map-v5", 6, 5,
				   on_update, &u, s->now),
			 0);
	assert_int_equal(u.calls, 1);
	assert_int_equal(u.rc, 0);
	deliver_all(s);
	for (int r = 0; r < 13; r++) {
		assert_int_equal(cached(s, r, &ver, val), 0);
		assert_string_equal(val, "map-v5");
		assert_int_equal(s->refreshed[r], 2);
	}
	sim_free(s);
}

/* Stale updates are refused at the root and stale pushes are dropped (and not forwarded). */
static void test_stale_versions_ignored(void **state)
{
	struct ivsim *s = sim_new(13, 3, 0);
	struct upd_res u = {0};
	struct iv_stats st;
	struct iv_msg m = {.type = IV_MSG_REFRESH, .class_id = CLS, .version = 3,
			   .key_len = KLEN, .key = KEY, .val_len = 6,
			   .val = (const uint8_t *)"map-v3"};
	uint8_t buf[128];
	uint64_t ver;
	char val[64];
	size_t len;

	(void)state;
	set_source(s, "map-v3", 3);
	assert_int_equal(iv_update(s->ns[7], CLS, KEY, KLEN, (const uint8_t *)"map-v4", 6, 4,
				   on_update, &u, s->now),
			 0);
	deliver_all(s);
	assert_int_equal(u.rc, 0);
	for (uint64_t v = 4; v >= 2; v--) { /* same and older versions */
		memset(&u, 0, sizeof(u));
		assert_int_equal(iv_update(s->ns[12], CLS, KEY, KLEN, (const uint8_t *)"old", 3,
					   v, on_update, &u, s->now),
				 0);
		deliver_all(s);
		assert_int_equal(u.calls, 1);
		assert_int_equal(u.rc, -ESTALE);
	}
	assert_int_equal(s->src.updates, 1);
	/* a late push of version 3 reaches rank 1 (holding 4): dropped, not forwarded */
	len = enc(&m, buf, sizeof(buf));
	memset(s->sent_by, 0, sizeof(s->sent_by));
	assert_int_equal(iv_recv(s->ns[1], 0, buf, len, s->now), 0);
	assert_int_equal(s->sent_by[1], 0);
	iv_stats_get(s->ns[1], &st);
	assert_int_equal(st.stale_dropped, 1);
	for (int r = 0; r < 13; r++) {
		assert_int_equal(cached(s, r, &ver, val), 0);
		assert_string_equal(val, "map-v4");
		assert_int_equal(s->refreshed[r], 1);
	}
	sim_free(s);
}

/* A rank restarts with an empty cache: its fetch goes to its parent again. */
static void test_restarted_rank_fetches_again(void **state)
{
	struct ivsim *s = sim_new(13, 3, 0);
	struct upd_res u = {0};
	struct fetch_res f = {0};

	(void)state;
	set_source(s, "map-v3", 3);
	assert_int_equal(iv_update(s->ns[4], CLS, KEY, KLEN, (const uint8_t *)"map-v9", 6, 9,
				   on_update, &u, s->now),
			 0);
	deliver_all(s);
	assert_int_equal(cached(s, 6, NULL, NULL), 0);
	start_rank(s, 6); /* the engine restarted */
	assert_int_equal(cached(s, 6, NULL, NULL), -ENOENT);
	memset(s->recv_by, 0, sizeof(s->recv_by));
	assert_int_equal(iv_fetch(s->ns[6], CLS, KEY, KLEN, on_fetch, &f, s->now), 0);
	assert_int_equal(f.calls, 0);
	deliver_all(s);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.rc, 0);
	assert_string_equal(f.val, "map-v9");
	assert_true(f.version == 9);
	assert_int_equal(s->recv_by[1], 1); /* its parent answered */
	assert_int_equal(s->recv_by[0], 0); /* the root was not asked */
	assert_int_equal(cached(s, 6, NULL, NULL), 0);
	sim_free(s);
}

/* Invalidation drops every cached copy; the next fetch reads the source again. */
static void test_invalidate(void **state)
{
	struct ivsim *s = sim_new(13, 3, 0);
	struct fetch_res f = {0};
	struct upd_res u = {0};

	(void)state;
	set_source(s, "map-v3", 3);
	assert_int_equal(iv_update(s->ns[4], CLS, KEY, KLEN, (const uint8_t *)"map-v4", 6, 4,
				   on_update, &u, s->now),
			 0);
	deliver_all(s);
	assert_int_equal(iv_invalidate(s->ns[10], CLS, KEY, KLEN, 4, on_update, &u, s->now), 0);
	deliver_all(s);
	assert_int_equal(u.rc, 0);
	for (int r = 0; r < 13; r++) {
		assert_int_equal(cached(s, r, NULL, NULL), -ENOENT);
		assert_int_equal(s->refreshed_null[r], 1);
	}
	/* a late push of the invalidated version stays out */
	{
		struct iv_msg m = {.type = IV_MSG_REFRESH, .class_id = CLS, .version = 4,
				   .key_len = KLEN, .key = KEY, .val_len = 1,
				   .val = (const uint8_t *)"x"};
		uint8_t buf[64];
		size_t len = enc(&m, buf, sizeof(buf));

		assert_int_equal(iv_recv(s->ns[2], 0, buf, len, s->now), 0);
		assert_int_equal(cached(s, 2, NULL, NULL), -ENOENT);
	}
	set_source(s, "map-v5", 5); /* the source moved on meanwhile */
	assert_int_equal(s->src.fetches, 1); /* read once, by the first update's version check */
	assert_int_equal(iv_fetch(s->ns[12], CLS, KEY, KLEN, on_fetch, &f, s->now), 0);
	deliver_all(s);
	assert_int_equal(f.rc, 0);
	assert_string_equal(f.val, "map-v5");
	assert_int_equal(s->src.fetches, 2);
	sim_free(s);
}

/* The class on the root refuses an update: the updater gets the error, caches stay. */
static void test_update_refused(void **state)
{
	struct ivsim *s = sim_new(7, 2, 0);
	struct upd_res u = {0};

	(void)state;
	set_source(s, "map-v3", 3);
	s->src.refuse = 1;
	assert_int_equal(iv_update(s->ns[6], CLS, KEY, KLEN, (const uint8_t *)"map-v4", 6, 4,
				   on_update, &u, s->now),
			 0);
	deliver_all(s);
	assert_int_equal(u.calls, 1);
	assert_int_equal(u.rc, -EPERM);
	assert_int_equal(cached(s, 6, NULL, NULL), -ENOENT);
	for (int r = 0; r < 7; r++)
		assert_int_equal(s->refreshed[r], 0);
	sim_free(s);
}

/* A dead parent: the fetch and the update time out (simulated clock), a late reply is
 * ignored. */
static void test_timeouts(void **state)
{
	struct ivsim *s = sim_new(7, 2, 0);
	struct fetch_res f = {0};
	struct upd_res u = {0};
	struct iv_stats st;
	uint64_t next;

	(void)state;
	set_source(s, "map-v3", 3);
	s->down[1] = 1; /* parent of 3 and 4 */
	assert_int_equal(iv_fetch(s->ns[3], CLS, KEY, KLEN, on_fetch, &f, s->now), 0);
	assert_int_equal(iv_update(s->ns[4], CLS, KEY, KLEN, (const uint8_t *)"v", 1, 7,
				   on_update, &u, s->now),
			 0);
	deliver_all(s);
	next = iv_tick(s->ns[3], s->now);
	assert_true(next > s->now && next <= s->now + 5000);
	assert_int_equal(f.calls, 0);
	s->now += 4990;
	assert_int_equal(iv_tick(s->ns[3], s->now) != UINT64_MAX, 1);
	assert_int_equal(f.calls, 0);
	s->now += 20;
	assert_true(iv_tick(s->ns[3], s->now) == UINT64_MAX);
	(void)iv_tick(s->ns[4], s->now);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.rc, -ETIMEDOUT);
	assert_int_equal(u.calls, 1);
	assert_int_equal(u.rc, -ETIMEDOUT);
	iv_stats_get(s->ns[3], &st);
	assert_int_equal(st.timeouts, 1);
	/* the parent comes back with a late answer to request id 1: ignored */
	{
		struct iv_msg m = {.type = IV_MSG_FETCH_REPLY, .class_id = CLS, .req_id = 1,
				   .version = 3, .key_len = KLEN, .key = KEY, .val_len = 1,
				   .val = (const uint8_t *)"x"};
		uint8_t buf[64];
		size_t len = enc(&m, buf, sizeof(buf));

		assert_int_equal(iv_recv(s->ns[3], 1, buf, len, s->now), -ENOENT);
		assert_int_equal(f.calls, 1);
	}
	/* and later requests work again */
	s->down[1] = 0;
	assert_int_equal(iv_fetch(s->ns[3], CLS, KEY, KLEN, on_fetch, &f, s->now), 0);
	deliver_all(s);
	assert_int_equal(f.calls, 2);
	assert_int_equal(f.rc, 0);
	sim_free(s);
}

/* Argument checks, class registration, replies that do not match a request. */
static void test_api_rejects(void **state)
{
	struct ivsim *s = sim_new(3, 2, 0);
	struct iv_ops bad_ops = {.send = cb_send};
	struct fetch_res f = {0};
	struct upd_res u = {0};
	struct iv_stats st;
	struct iv_ns *ns = (struct iv_ns *)s;
	uint8_t big[IV_KEY_MAX + 1] = {0}, buf[128];
	size_t len;

	(void)state;
	assert_int_equal(iv_init(&ns, 0, &bad_ops, NULL, 1000), -EINVAL);
	assert_null(ns);
	assert_int_equal(iv_init(&ns, IV_RANK_NONE, &sim_ops, NULL, 1000), -EINVAL);
	assert_int_equal(iv_init(&ns, 0, &sim_ops, NULL, 0), -EINVAL);
	assert_int_equal(iv_class_register(s->ns[0], CLS, &cls_ops, NULL), -EEXIST);
	assert_int_equal(iv_fetch(s->ns[1], CLS + 1, KEY, KLEN, on_fetch, &f, s->now), -ENOENT);
	assert_int_equal(iv_fetch(s->ns[1], CLS, big, sizeof(big), on_fetch, &f, s->now),
			 -EINVAL);
	assert_int_equal(iv_fetch(s->ns[1], CLS, KEY, 0, on_fetch, &f, s->now), -EINVAL);
	assert_int_equal(iv_update(s->ns[1], CLS, KEY, KLEN, big, 1, 0, on_update, &u, s->now),
			 -EINVAL); /* version 0 */
	assert_int_equal(iv_update(s->ns[1], CLS, KEY, KLEN, NULL, 5, 1, on_update, &u, s->now),
			 -EINVAL);
	assert_int_equal(f.calls + u.calls, 0);
	assert_int_equal(s->nq, 0);
	/* a reply from a rank the request was not sent to is refused */
	set_source(s, "v", 1);
	assert_int_equal(iv_fetch(s->ns[1], CLS, KEY, KLEN, on_fetch, &f, s->now), 0);
	{
		struct iv_msg m = {.type = IV_MSG_FETCH_REPLY, .class_id = CLS, .req_id = 1,
				   .version = 9, .key_len = KLEN, .key = KEY, .val_len = 1,
				   .val = (const uint8_t *)"x"};

		len = enc(&m, buf, sizeof(buf));
		assert_int_equal(iv_recv(s->ns[1], 2, buf, len, s->now), -EINVAL);
	}
	assert_int_equal(iv_recv(s->ns[1], 0, buf, 3, s->now), -EINVAL);
	assert_int_equal(iv_recv(s->ns[1], 1, buf, len, s->now), -EINVAL); /* from self */
	iv_stats_get(s->ns[1], &st);
	assert_int_equal(st.bad_msgs, 3);
	assert_int_equal(f.calls, 0);
	deliver_all(s);
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.val, "v");
	/* a fetch for a class the parent does not know comes back as -ENOENT */
	{
		struct iv_msg m = {.type = IV_MSG_FETCH, .class_id = 99, .req_id = 5,
				   .key_len = KLEN, .key = KEY};

		len = enc(&m, buf, sizeof(buf));
		assert_int_equal(iv_recv(s->ns[0], 2, buf, len, s->now), 0);
		assert_int_equal(s->nq, 1);
		assert_int_equal(iv_msg_decode(s->q[0].buf, s->q[0].len, &m), 0);
		assert_int_equal(m.type, IV_MSG_FETCH_REPLY);
		assert_int_equal(m.status, -ENOENT);
		drop_queue(s);
	}
	sim_free(s);
}

/* iv_fini completes the local requests still pending with -ECANCELED. */
static void test_fini_cancels(void **state)
{
	struct ivsim *s = sim_new(3, 2, 0);
	struct fetch_res f = {0};
	struct upd_res u = {0};

	(void)state;
	assert_int_equal(iv_fetch(s->ns[2], CLS, KEY, KLEN, on_fetch, &f, s->now), 0);
	assert_int_equal(iv_update(s->ns[2], CLS, KEY, KLEN, (const uint8_t *)"v", 1, 3,
				   on_update, &u, s->now),
			 0);
	iv_fini(s->ns[2]);
	s->ns[2] = NULL;
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.rc, -ECANCELED);
	assert_int_equal(u.calls, 1);
	assert_int_equal(u.rc, -ECANCELED);
	drop_queue(s);
	sim_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_codec_rejects),
		cmocka_unit_test(test_fetch_miss_through_parents),
		cmocka_unit_test(test_fetch_missing_value),
		cmocka_unit_test(test_update_reaches_every_rank),
		cmocka_unit_test(test_stale_versions_ignored),
		cmocka_unit_test(test_restarted_rank_fetches_again),
		cmocka_unit_test(test_invalidate),
		cmocka_unit_test(test_update_refused),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_api_rejects),
		cmocka_unit_test(test_fini_cancels),
	};

	return cmocka_run_group_tests_name("iv", tests, NULL, NULL);
}
