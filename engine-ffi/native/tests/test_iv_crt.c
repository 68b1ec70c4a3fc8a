/*
 * cmocka tests of IV over the RPC layer (iv_engine.h): five real libfabric transports (tcp
 * provider over 127.0.0.1) in this process, one IV namespace each, a test class whose source
 * lives on the root. Fetch forwarded up the tree and cached on the way back, update through
 * the root and refresh to every rank, stale updates, invalidation, a rank that restarts with
 * an empty cache and a new incarnation, a dead parent (an error, not a hang). Every wait is
 * bounded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "crt.h"
#include "iv_engine.h"
#include "log.h"

#define N	    5
#define FANOUT	    2 /* rank 0 → 1, 2; rank 1 → 3, 4 */
#define TIMEOUT_MS  4000
#define CLS	    7
#define OTHER_CLS   8

struct node {
	uint32_t rank;
	struct crt_transport *t;
	struct ive *ive;
	/* the class's source (root) */
	char src[64];
	uint64_t src_version;
	int updates;	 /* atomic: class update calls */
	int refreshes;	 /* atomic: class refresh calls */
	int probe;	 /* the source fetch calls back into IV, recording the result */
	int probe_rc;
};

static struct node nodes[N];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int c_fetch(void *arg, const uint8_t *key, size_t klen, const uint8_t **val, size_t *len,
		   uint64_t *version)
{
	struct node *n = arg;

	if (n->probe)
		n->probe_rc = ive_fetch(n->ive, CLS, key, klen, NULL, 0, NULL, NULL);
	if (klen != 3 || memcmp(key, "map", 3) != 0 || n->src_version == 0)
		return -ENOENT;
	*val = (const uint8_t *)n->src;
	*len = strlen(n->src);
	*version = n->src_version;
	return 0;
}

static int c_update(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t len,
		    uint64_t version, int invalidate)
{
	struct node *n = arg;

	(void)key;
	(void)klen;
	__atomic_add_fetch(&n->updates, 1, __ATOMIC_SEQ_CST);
	if (!invalidate) {
		snprintf(n->src, sizeof(n->src), "%.*s", (int)len, (const char *)val);
		n->src_version = version;
	}
	return 0;
}

static void c_refresh(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t len, uint64_t version)
{
	struct node *n = arg;

	(void)key;
	(void)klen;
	(void)val;
	(void)len;
	(void)version;
	__atomic_add_fetch(&n->refreshes, 1, __ATOMIC_SEQ_CST);
}

static const struct iv_class_ops cls_ops = {c_fetch, c_update, c_refresh};

static void mk_transport(struct node *n, uint16_t port)
{
	struct crt_transport_opts o = {
		.fab = {.ip = "127.0.0.1", .port = port}, .nctx = 1, .threads = 1,
		.system = "sys", .user = n,
	};
	char err[256] = "";
	int rc = fab_provider_map("ofi+tcp", &o.fab, err, sizeof(err));

	assert_int_equal(rc, 0);
	o.fab.port = port;
	rc = crt_transport_create(&o, &n->t, err, sizeof(err));
	if (rc != 0)
		fail_msg("transport: %s", err);
}

static void mk_ive(struct node *n, uint64_t incarnation)
{
	struct ive_opts o = {.t = n->t, .leader = IVE_LEADER_LOWEST, .fanout = FANOUT,
			     .timeout_ms = TIMEOUT_MS, .incarnation = incarnation};

	assert_int_equal(ive_create(&o, &n->ive), 0);
	assert_int_equal(ive_class_register(n->ive, CLS, &cls_ops, n), 0);
}

static void set_group(uint32_t version)
{
	struct crt_member m[N];

	for (size_t i = 0; i < N; i++) {
		m[i].rank = nodes[i].rank;
		snprintf(m[i].uri, sizeof(m[i].uri), "%s", crt_transport_uri(nodes[i].t));
	}
	for (size_t i = 0; i < N; i++)
		if (nodes[i].t != NULL)
			assert_int_equal(crt_group_update(nodes[i].t, nodes[i].rank, version, m, N),
					 0);
}

static int fetch(struct node *n, const char *key, char *buf, uint64_t *version)
{
	size_t len = 0;
	int rc = ive_fetch(n->ive, CLS, key, strlen(key), buf, 63, &len, version);

	buf[rc == 0 ? len : 0] = '\0';
	return rc;
}

/* Waits (bounded) until every live rank caches key at version (and value want, if given). */
static void wait_cached(const char *key, uint64_t version, const char *want)
{
	static char buf[IVE_VALUE_MAX + 1];
	int64_t t0 = now_ms();

	for (size_t i = 0; i < N; i++) {
		size_t len = 0;
		uint64_t v = 0;
		int rc;

		if (nodes[i].ive == NULL)
			continue;
		while ((rc = ive_cache_get(nodes[i].ive, CLS, key, strlen(key), buf,
					   sizeof(buf) - 1, &len, &v)) != 0 || v != version) {
			if (now_ms() - t0 > 10000)
				fail_msg("rank %zu: cache rc %d version %lu, want %lu", i, rc,
					 (unsigned long)v, (unsigned long)version);
			usleep(5000);
		}
		buf[len] = '\0';
		if (want != NULL)
			assert_string_equal(buf, want);
	}
}

static void test_iv_over_crt(void **state)
{
	struct iv_stats st;
	char buf[64];
	uint64_t ver;
	int64_t t0;
	int rc;

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		nodes[i] = (struct node){.rank = i};
		mk_transport(&nodes[i], 0);
		mk_ive(&nodes[i], 100 + i);
	}
	/* option checks; one namespace per transport */
	{
		struct ive_opts o = {.t = nodes[0].t, .leader = IVE_LEADER_LOWEST, .fanout = 2,
				     .timeout_ms = 1000};
		struct ive *x;

		assert_int_equal(ive_create(&o, &x), -EEXIST);
		o.fanout = 0;
		assert_int_equal(ive_create(&o, &x), -EINVAL);
		assert_int_equal(ive_class_register(nodes[0].ive, CLS, &cls_ops, NULL), -EEXIST);
	}
	/* no rank yet: nothing to do but say so */
	assert_int_equal(fetch(&nodes[4], "map", buf, &ver), -EAGAIN);
	set_group(1);
	assert_int_equal(ive_leader(nodes[3].ive), 0);
	snprintf(nodes[0].src, sizeof(nodes[0].src), "pool-map-v1");
	nodes[0].src_version = 1;

	/* a miss on a leaf goes 4 → 1 → 0 (the source); both hops cache it on the way back */
	assert_int_equal(fetch(&nodes[4], "map", buf, &ver), 0);
	assert_string_equal(buf, "pool-map-v1");
	assert_int_equal(ver, 1);
	ive_stats(nodes[0].ive, &st);
	assert_int_equal(st.source_fetches, 1);
	ive_stats(nodes[1].ive, &st);
	assert_int_equal(st.fetch_forwarded, 1);
	assert_int_equal(ive_cache_get(nodes[1].ive, CLS, "map", 3, buf, 63, NULL, &ver), 0);
	/* its sibling is served by rank 1's cache: the root is not asked again */
	assert_int_equal(fetch(&nodes[3], "map", buf, &ver), 0);
	assert_string_equal(buf, "pool-map-v1");
	ive_stats(nodes[0].ive, &st);
	assert_int_equal(st.source_fetches, 1);
	ive_stats(nodes[1].ive, &st);
	assert_int_equal(st.cache_hits, 1);
	/* a hit needs no message at all */
	ive_stats(nodes[4].ive, &st);
	assert_int_equal(fetch(&nodes[4], "map", buf, &ver), 0);
	{
		struct iv_stats st2;

		ive_stats(nodes[4].ive, &st2);
		assert_int_equal(st2.cache_hits, st.cache_hits + 1);
		assert_int_equal(st2.fetch_forwarded, st.fetch_forwarded);
	}
	/* what nobody has: -ENOENT from the source, through the tree */
	assert_int_equal(fetch(&nodes[4], "nokey", buf, &ver), -ENOENT);
	/* a class the root does not know */
	assert_int_equal(ive_class_register(nodes[4].ive, OTHER_CLS, &cls_ops, &nodes[4]), 0);
	assert_int_equal(ive_fetch(nodes[4].ive, OTHER_CLS, "map", 3, buf, 63, NULL, NULL),
			 -ENOENT);
	/* a value too big for the buffer */
	assert_int_equal(ive_fetch(nodes[3].ive, CLS, "map", 3, buf, 4, NULL, NULL), -ENOBUFS);

	/* an update from a leaf (3 → 1 → 0): the root's class applies it and pushes a refresh
	 * to every rank, also those that never fetched (2) */
	assert_int_equal(ive_update(nodes[3].ive, CLS, "map", 3, "pool-map-v2", 11, 2), 0);
	assert_int_equal(__atomic_load_n(&nodes[0].updates, __ATOMIC_SEQ_CST), 1);
	assert_string_equal(nodes[0].src, "pool-map-v2");
	wait_cached("map", 2, "pool-map-v2");
	assert_true(__atomic_load_n(&nodes[2].refreshes, __ATOMIC_SEQ_CST) >= 1);
	/* an older version is refused by the root */
	assert_int_equal(ive_update(nodes[4].ive, CLS, "map", 3, "old", 3, 1), -ESTALE);
	assert_int_equal(ive_update(nodes[2].ive, CLS, "map", 3, "pool-map-v2", 11, 2), -ESTALE);
	/* an update on the root itself */
	assert_int_equal(ive_update(nodes[0].ive, CLS, "map", 3, "pool-map-v3", 11, 3), 0);
	wait_cached("map", 3, "pool-map-v3");
	/* more than one RPC can carry */
	{
		static uint8_t big[IVE_VALUE_MAX + 1];

		assert_int_equal(ive_update(nodes[4].ive, CLS, "map", 3, big, sizeof(big), 9),
				 -EMSGSIZE);
		assert_int_equal(ive_update(nodes[4].ive, CLS, "map", 3, big, IVE_VALUE_MAX, 4),
				 0);
		wait_cached("map", 4, NULL);
		assert_int_equal(ive_update(nodes[4].ive, CLS, "map", 3, "pool-map-v5", 11, 5),
				 0);
		wait_cached("map", 5, "pool-map-v5");
	}

	/* a class callback running on the IV context's thread cannot block on IV */
	nodes[0].probe = 1;
	nodes[0].probe_rc = 1;
	assert_int_equal(fetch(&nodes[2], "other", buf, &ver), -ENOENT);
	assert_int_equal(nodes[0].probe_rc, -EDEADLK);
	nodes[0].probe = 0;

	/* rank 4 restarts: a new process at the same address, new incarnation, empty cache */
	{
		uint32_t ip;
		uint16_t port;
		int tries = 0;

		assert_int_equal(crt_uri_parse(crt_transport_uri(nodes[4].t), &ip, &port), 0);
		ive_destroy(nodes[4].ive);
		crt_transport_destroy(nodes[4].t);
		mk_transport(&nodes[4], port);
		mk_ive(&nodes[4], 200);
		set_group(2);
		assert_int_equal(ive_cache_get(nodes[4].ive, CLS, "map", 3, buf, 63, NULL, &ver),
				 -ENOENT);
		/* rank 1's old connection to the previous process may cost a lost reply (a
		 * timeout) before the new one is made: a bounded number of tries */
		do {
			rc = fetch(&nodes[4], "map", buf, &ver);
		} while (rc == -ETIMEDOUT && ++tries < 3);
		assert_int_equal(rc, 0);
		assert_string_equal(buf, "pool-map-v5");
		assert_int_equal(ver, 5);
		/* served by its parent's cache, not the source */
		ive_stats(nodes[4].ive, &st);
		assert_int_equal(st.fetch_forwarded, (uint64_t)tries + 1);
		/* and it takes part in refreshes again */
		assert_int_equal(ive_update(nodes[2].ive, CLS, "map", 3, "pool-map-v6", 11, 6), 0);
		wait_cached("map", 6, "pool-map-v6");
	}

	/* invalidation: every cache drops the value; the next fetch goes to the source, which
	 * has moved on meanwhile */
	assert_int_equal(ive_invalidate(nodes[3].ive, CLS, "map", 3, 6), 0);
	t0 = now_ms();
	while (ive_cache_get(nodes[4].ive, CLS, "map", 3, buf, 63, NULL, &ver) == 0 &&
	       now_ms() - t0 < 10000)
		usleep(5000);
	assert_int_equal(ive_cache_get(nodes[4].ive, CLS, "map", 3, buf, 63, NULL, &ver),
			 -ENOENT);
	snprintf(nodes[0].src, sizeof(nodes[0].src), "pool-map-v7");
	nodes[0].src_version = 7;
	assert_int_equal(fetch(&nodes[4], "map", buf, &ver), 0);
	assert_string_equal(buf, "pool-map-v7");
	assert_int_equal(ver, 7);

	/* rank 1 dies (still in the map): its children's misses fail, with an error, in bounded
	 * time, instead of hanging */
	ive_destroy(nodes[1].ive);
	nodes[1].ive = NULL;
	crt_transport_destroy(nodes[1].t);
	nodes[1].t = NULL;
	t0 = now_ms();
	rc = fetch(&nodes[3], "other", buf, &ver);
	assert_true(rc == -EHOSTUNREACH || rc == -ETIMEDOUT);
	assert_true(now_ms() - t0 < TIMEOUT_MS + 3000);
	/* an update through it too */
	rc = ive_update(nodes[4].ive, CLS, "map", 3, "pool-map-v8", 11, 8);
	assert_true(rc == -EHOSTUNREACH || rc == -ETIMEDOUT);
	/* the rest of the tree still works: 2 is a child of the root */
	assert_int_equal(ive_update(nodes[2].ive, CLS, "map", 3, "pool-map-v9", 11, 9), 0);
	assert_int_equal(fetch(&nodes[2], "map", buf, &ver), 0);
	assert_string_equal(buf, "pool-map-v9");

	/* a map without rank 3 (it was excluded): no tree to use, it says so; its cache stays
	 * readable (and empty for "map": the invalidation dropped it, its parent died since) */
	{
		struct crt_member m[2];

		for (size_t i = 0; i < 2; i++) {
			m[i].rank = nodes[i * 2].rank; /* 0 and 2 */
			snprintf(m[i].uri, sizeof(m[i].uri), "%s", crt_transport_uri(nodes[i * 2].t));
		}
		assert_int_equal(crt_group_update(nodes[3].t, 3, 3, m, 2), 0);
		assert_int_equal(fetch(&nodes[3], "map", buf, &ver), -ENOTCONN);
		assert_int_equal(ive_cache_get(nodes[3].ive, CLS, "map", 3, buf, 63, NULL, &ver),
				 -ENOENT);
	}

	for (size_t i = 0; i < N; i++) {
		ive_destroy(nodes[i].ive);
		if (nodes[i].t != NULL)
			crt_transport_destroy(nodes[i].t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iv_over_crt),
	};

	dss_log_set_mask("CRIT"); /* the failure paths under test log warnings */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
