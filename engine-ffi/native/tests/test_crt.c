/*
 * cmocka tests of the RPC layer (crt.h) with real libfabric transports talking over 127.0.0.1
 * with the tcp provider, several in this one process: wire header decoding, protocol
 * registration and dispatch, group checks, timeout and cancel, collectives with failing and
 * slow children. Every wait is bounded by the RPC timeouts under test.
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
#include <json-c/json.h>

#include "byteorder.h"
#include "crt.h"
#include "daos_telemetry.h"
#include "log.h"
#include "telemetry.h"

#define TEST_BASE   0x42000000u
#define OPC_ECHO    CRT_PROTO_OPC(TEST_BASE, 1, 0)
#define OPC_SLEEP   CRT_PROTO_OPC(TEST_BASE, 1, 1)
#define OPC_SUM     CRT_PROTO_OPC(TEST_BASE, 1, 2)
#define OPC_WHERE   CRT_PROTO_OPC(TEST_BASE, 1, 3)
#define OPC_BIG     CRT_PROTO_OPC(TEST_BASE, 1, 4)
#define OPC_ECHO_V2 CRT_PROTO_OPC(TEST_BASE, 2, 0)
#define BIG_IN      CRT_MAX_PAYLOAD
#define BIG_OUT     (CRT_MAX_PAYLOAD - 16)
#define OTHER_BASE  0x43000000u

/* Per-node behaviour, the transport's user pointer. */
struct node {
	uint32_t rank;
	int fail;      /* the sum handler returns -DER_INVAL */
	int sleep_ms;  /* the sum handler sleeps first */
	struct crt_transport *t;
};

struct echo_in { uint64_t v; };
struct echo_out { uint64_t v; uint32_t rank; uint32_t ctx; };
struct sum_out { uint64_t sum; uint32_t count; uint32_t pad; };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int h_echo(const struct crt_req_info *ri, const void *in, void *out)
{
	const struct echo_in *i = in;
	struct echo_out *o = out;
	struct node *n = ri->user;

	o->v = i->v + 1;
	o->rank = n->rank;
	o->ctx = (uint32_t)ri->ctx_idx;
	return 0;
}

static int echo_check(const void *in)
{
	/* a strict field check: the value 0xBAD is refused */
	return ((const struct echo_in *)in)->v == 0xBAD ? -1 : 0;
}

static int h_sleep(const struct crt_req_info *ri, const void *in, void *out)
{
	(void)ri;
	usleep((useconds_t)((const struct echo_in *)in)->v * 1000);
	((struct echo_out *)out)->v = 1;
	return 0;
}

static int h_sum(const struct crt_req_info *ri, const void *in, void *out)
{
	struct node *n = ri->user;
	struct sum_out *o = out;

	(void)in;
	if (n->sleep_ms)
		usleep((useconds_t)n->sleep_ms * 1000);
	if (n->fail)
		return -DER_INVAL;
	o->sum = n->rank;
	o->count = 1;
	return 0;
}

static void agg_sum(void *acc, const void *child)
{
	struct sum_out *a = acc;
	const struct sum_out *c = child;

	a->sum += c->sum;
	a->count += c->count;
}

/* The largest messages: out[i] = in[BIG_IN - 1 - i]. */
static int h_big(const struct crt_req_info *ri, const void *in, void *out)
{
	(void)ri;
	for (size_t i = 0; i < BIG_OUT; i++)
		((uint8_t *)out)[i] = ((const uint8_t *)in)[BIG_IN - 1 - i];
	return 0;
}

static const struct crt_proto_rpc_format test_rpcs[] = {
	{"echo", sizeof(struct echo_in), sizeof(struct echo_out), echo_check, h_echo, NULL},
	{"sleep", sizeof(struct echo_in), sizeof(struct echo_out), NULL, h_sleep, NULL},
	{"sum", sizeof(struct echo_in), sizeof(struct sum_out), NULL, h_sum, agg_sum},
	{"where", sizeof(struct echo_in), sizeof(struct echo_out), NULL, h_echo, NULL},
	{"big", BIG_IN, BIG_OUT, NULL, h_big, NULL},
};
static const struct crt_proto_format test_proto = {
	.name = "test", .version = 1, .count = 5, .rpcs = test_rpcs, .base = TEST_BASE,
};
static const struct crt_proto_format test_proto_v2 = {
	.name = "test", .version = 2, .count = 1, .rpcs = test_rpcs, .base = TEST_BASE,
};
static const struct crt_proto_format other_proto = {
	.name = "other", .version = 1, .count = 1, .rpcs = test_rpcs, .base = OTHER_BASE,
};

static struct crt_transport *mk_prov(struct node *n, int nctx, int threads, const char *sys,
				     const char *d_provider)
{
	struct crt_transport_opts o = {
		.fab = {.ip = "127.0.0.1"}, .nctx = nctx, .threads = threads, .system = sys,
		.user = n,
	};
	char err[256] = "";
	int rc = fab_provider_map(d_provider, &o.fab, err, sizeof(err));

	assert_int_equal(rc, 0);
	rc = crt_transport_create(&o, &n->t, err, sizeof(err));

	if (rc != 0)
		fail_msg("transport: %s", err);
	assert_int_equal(crt_proto_register(n->t, &test_proto), 0);
	return n->t;
}

static struct crt_transport *mk(struct node *n, int nctx, int threads, const char *sys)
{
	return mk_prov(n, nctx, threads, sys, "ofi+tcp");
}

/* Installs the same map (ranks 0..n-1 at the nodes' URIs) on every node. */
static void set_group(struct node *nodes, size_t n, uint32_t version)
{
	struct crt_member *m = calloc(n, sizeof(*m));

	for (size_t i = 0; i < n; i++) {
		m[i].rank = nodes[i].rank;
		snprintf(m[i].uri, sizeof(m[i].uri), "%s", crt_transport_uri(nodes[i].t));
	}
	for (size_t i = 0; i < n; i++)
		assert_int_equal(crt_group_update(nodes[i].t, nodes[i].rank, version, m, n), 0);
	free(m);
}

static int echo_rank(struct crt_context *ctx, uint32_t rank, uint16_t tag, uint32_t opc,
		     uint64_t v, struct echo_out *out)
{
	struct crt_rpc *rpc;
	int rc = crt_req_create(ctx, rank, tag, opc, &rpc);

	assert_int_equal(rc, 0);
	((struct echo_in *)crt_req_input(rpc))->v = v;
	/* generous: a first contact includes the connection set-up, on a loaded machine */
	crt_req_set_timeout(rpc, 10000);
	rc = crt_req_send_sync(rpc);
	if (rc == 0 && out)
		memcpy(out, crt_req_output(rpc), sizeof(*out));
	crt_req_decref(rpc);
	return rc;
}

/* ---- wire ---- */

static void mkmsg(uint8_t *msg, struct crt_hdr *h, size_t plen)
{
	*h = (struct crt_hdr){.version = CRT_WIRE_VERSION, .flags = CRT_FLAG_REQ, .opc = 7,
			      .rpc_id = 9, .src_rank = 1, .dst_rank = 2, .payload_len =
			      (uint32_t)plen, .reply_ip = 0x0100007f, .reply_port = 5,
			      .src_tag = 3};
	crt_hdr_encode(h, msg);
	memset(msg + CRT_HDR_LEN, 0xAB, plen);
}

static void test_wire(void **state)
{
	uint8_t msg[CRT_HDR_LEN + 16], bad[sizeof(msg)];
	struct crt_hdr h, d;
	const char *why;
	uint32_t ip;
	uint16_t port;

	(void)state;
	mkmsg(msg, &h, 16);
	assert_int_equal(crt_hdr_decode(msg, sizeof(msg), &d, &why), 0);
	assert_int_equal(d.opc, 7);
	assert_int_equal(d.rpc_id, 9);
	assert_int_equal(d.src_tag, 3);
	assert_int_equal(d.reply_port, 5);
	assert_int_equal(d.payload_len, 16);
	/* truncated, extended, bad magic/version/flags/status/reply address/id */
	assert_int_equal(crt_hdr_decode(msg, CRT_HDR_LEN - 1, &d, &why), -EBADMSG);
	assert_int_equal(crt_hdr_decode(msg, sizeof(msg) - 1, &d, &why), -EBADMSG);
	assert_string_equal(why, "payload length does not match the message size");
	memcpy(bad, msg, sizeof(msg));
	bad[0] ^= 1;
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EPROTO);
	assert_string_equal(why, "bad magic");
	memcpy(bad, msg, sizeof(msg));
	bad[4] = 2;
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EPROTO);
	memcpy(bad, msg, sizeof(msg));
	bad[5] = CRT_FLAG_REQ | CRT_FLAG_REPLY;
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EPROTO);
	bad[5] = 0x10 | CRT_FLAG_REQ;
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EPROTO);
	bad[5] = 0;
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EPROTO);
	memcpy(bad, msg, sizeof(msg));
	put_le(bad + 36, 1, 4); /* a request carrying a status */
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EPROTO);
	memcpy(bad, msg, sizeof(msg));
	put_le(bad + 48, 0, 2);
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EPROTO);
	memcpy(bad, msg, sizeof(msg));
	put_le(bad + 12, 0, 8);
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EPROTO);
	memcpy(bad, msg, sizeof(msg));
	put_le(bad + 40, CRT_MAX_PAYLOAD + 1, 4);
	assert_int_equal(crt_hdr_decode(bad, sizeof(bad), &d, &why), -EMSGSIZE);
	/* replies may carry a negative status, never a positive one */
	h.flags = CRT_FLAG_REPLY;
	h.status = -DER_TIMEDOUT;
	crt_hdr_encode(&h, msg);
	assert_int_equal(crt_hdr_decode(msg, sizeof(msg), &d, &why), 0);
	assert_int_equal(d.status, -DER_TIMEDOUT);
	h.status = 5;
	crt_hdr_encode(&h, msg);
	assert_int_equal(crt_hdr_decode(msg, sizeof(msg), &d, &why), -EPROTO);

	assert_int_equal(crt_uri_parse("ofi+tcp://127.0.0.1:31416", &ip, &port), 0);
	assert_int_equal(port, 31416);
	assert_int_equal(ip, 0x0100007f);
	assert_int_equal(crt_uri_parse("ofi+tcp://127.0.0.1:0", &ip, &port), -EINVAL);
	assert_int_equal(crt_uri_parse("ofi+tcp://host:1", &ip, &port), -EINVAL);
	assert_int_equal(crt_uri_parse("127.0.0.1:1", &ip, &port), -EINVAL);
	assert_int_equal(crt_uri_parse("x://1.2.3.4:1x", &ip, &port), -EINVAL);
	assert_int_equal(crt_uri_parse("x://1.2.3.4:-1", &ip, &port), -EINVAL);
	assert_int_not_equal(crt_sys_id("daos_server"), crt_sys_id("other"));
}

/* ---- registration and dispatch ---- */

static void test_register(void **state)
{
	struct node a = {.rank = 0};
	struct crt_proto_format bad = test_proto;
	struct crt_proto_rpc_format nohandler = test_rpcs[0];

	(void)state;
	mk(&a, 1, 1, NULL);
	assert_int_equal(crt_proto_register(a.t, &test_proto), -EEXIST);
	assert_int_equal(crt_proto_register(a.t, &test_proto_v2), 0);
	bad.base = 0x42000001u; /* low bits belong to version and index */
	assert_int_equal(crt_proto_register(a.t, &bad), -EINVAL);
	bad = test_proto;
	bad.version = 256;
	assert_int_equal(crt_proto_register(a.t, &bad), -EINVAL);
	bad = test_proto;
	bad.count = 0;
	assert_int_equal(crt_proto_register(a.t, &bad), -EINVAL);
	nohandler.handler = NULL;
	bad = other_proto;
	bad.rpcs = &nohandler;
	assert_int_equal(crt_proto_register(a.t, &bad), -EINVAL);
	crt_transport_destroy(a.t);
}

static void test_dispatch(void **state)
{
	struct node a = {.rank = 0}, b = {.rank = 1};
	struct node nodes[2];
	struct echo_out out;
	struct crt_rpc *rpc;

	(void)state;
	mk(&a, 1, 1, "sys");
	mk(&b, 3, 1, "sys");
	/* A knows v2 and another protocol, B does not */
	assert_int_equal(crt_proto_register(a.t, &test_proto_v2), 0);
	assert_int_equal(crt_proto_register(a.t, &other_proto), 0);
	nodes[0] = a;
	nodes[1] = b;
	set_group(nodes, 2, 1);

	assert_int_equal(echo_rank(crt_context_get(a.t, 0), 1, 0, OPC_ECHO, 41, &out), 0);
	assert_int_equal(out.v, 42);
	assert_int_equal(out.rank, 1);
	assert_int_equal(out.ctx, 0);
	/* the largest request and reply the wire allows */
	assert_int_equal(crt_req_create(crt_context_get(a.t, 0), 1, 0, OPC_BIG, &rpc), 0);
	for (size_t i = 0; i < BIG_IN; i++)
		((uint8_t *)crt_req_input(rpc))[i] = (uint8_t)(i * 7);
	crt_req_set_timeout(rpc, 5000);
	assert_int_equal(crt_req_send_sync(rpc), 0);
	for (size_t i = 0; i < BIG_OUT; i++)
		assert_int_equal(((const uint8_t *)crt_req_output(rpc))[i],
				 (uint8_t)((BIG_IN - 1 - i) * 7));
	crt_req_decref(rpc);
	/* a request for context 2 runs there */
	assert_int_equal(echo_rank(crt_context_get(a.t, 0), 1, 2, OPC_WHERE, 1, &out), 0);
	assert_int_equal(out.ctx, 2);
	/* no such context, opcode, version; a field refused by the format's check */
	assert_int_equal(echo_rank(crt_context_get(a.t, 0), 1, 3, OPC_ECHO, 1, NULL),
			 -DER_BAD_TARGET);
	assert_int_equal(echo_rank(crt_context_get(a.t, 0), 1, 0,
				   CRT_PROTO_OPC(OTHER_BASE, 1, 0), 1, NULL), -DER_UNREG);
	assert_int_equal(echo_rank(crt_context_get(a.t, 0), 1, 0, OPC_ECHO_V2, 1, NULL),
			 -DER_PROTO);
	assert_int_equal(echo_rank(crt_context_get(a.t, 0), 1, 0, OPC_ECHO, 0xBAD, NULL),
			 -DER_INVAL);
	/* sending an opcode the sender does not know is refused at create */
	assert_int_equal(crt_req_create(crt_context_get(b.t, 0), 0, 0,
					CRT_PROTO_OPC(OTHER_BASE, 1, 0), &rpc), -EINVAL);
	/* replies come back to the sender's context: B's context 1 asks A */
	assert_int_equal(echo_rank(crt_context_get(b.t, 1), 0, 0, OPC_ECHO, 5, &out), 0);
	assert_int_equal(out.rank, 0);
	/* by URI, from outside the group */
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), crt_transport_uri(b.t), 0,
					    OPC_ECHO, &rpc), 0);
	((struct echo_in *)crt_req_input(rpc))->v = 9;
	assert_int_equal(crt_req_send_sync(rpc), 0);
	assert_int_equal(((const struct echo_out *)crt_req_output(rpc))->v, 10);
	assert_int_equal(crt_req_send(rpc, NULL, NULL), -EALREADY);
	crt_req_decref(rpc);
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), "tcp://nohost:1", 0,
					    OPC_ECHO, &rpc), -EINVAL);
	crt_transport_destroy(a.t);
	crt_transport_destroy(b.t);
}

static void test_group_checks(void **state)
{
	struct node n[3] = {{.rank = 0}, {.rank = 1}, {.rank = 2}};
	struct crt_member m[2];
	struct node other = {.rank = 0};

	(void)state;
	for (int i = 0; i < 3; i++)
		mk(&n[i], 1, 1, "sys");
	mk(&other, 1, 1, "another");
	set_group(n, 3, 4);
	/* a rank not in the sender's map fails at once, not after a timeout */
	{
		int64_t t0 = now_ms();

		assert_int_equal(echo_rank(crt_context_get(n[0].t, 0), 77, 0, OPC_ECHO, 1, NULL),
				 -DER_OOG);
		assert_true(now_ms() - t0 < 1000);
	}
	/* rank 2 drops rank 0 from its map (newer version): rank 0's requests are refused */
	m[0].rank = 1;
	snprintf(m[0].uri, sizeof(m[0].uri), "%s", crt_transport_uri(n[1].t));
	m[1].rank = 2;
	snprintf(m[1].uri, sizeof(m[1].uri), "%s", crt_transport_uri(n[2].t));
	assert_int_equal(crt_group_update(n[2].t, 2, 5, m, 2), 0);
	assert_int_equal(crt_group_update(n[2].t, 2, 5, m, 2), 1); /* same version: ignored */
	assert_int_equal(echo_rank(crt_context_get(n[0].t, 0), 2, 0, OPC_ECHO, 1, NULL), -DER_OOG);
	assert_int_equal(echo_rank(crt_context_get(n[1].t, 0), 2, 0, OPC_ECHO, 1, NULL), 0);
	/* rank 1's map puts rank 0 at rank 2's address: the wrong engine answers */
	snprintf(m[0].uri, sizeof(m[0].uri), "%s", crt_transport_uri(n[2].t));
	m[0].rank = 0;
	snprintf(m[1].uri, sizeof(m[1].uri), "%s", crt_transport_uri(n[1].t));
	m[1].rank = 1;
	assert_int_equal(crt_group_update(n[1].t, 1, 9, m, 2), 0);
	assert_int_equal(echo_rank(crt_context_get(n[1].t, 0), 0, 0, OPC_ECHO, 1, NULL),
			 -DER_BAD_TARGET);
	/* another system's engine refuses */
	{
		struct crt_rpc *rpc;

		assert_int_equal(crt_req_create_uri(crt_context_get(other.t, 0),
						    crt_transport_uri(n[0].t), 0, OPC_ECHO, &rpc), 0);
		assert_int_equal(crt_req_send_sync(rpc), -DER_MISMATCH);
		crt_req_decref(rpc);
	}
	for (int i = 0; i < 3; i++)
		crt_transport_destroy(n[i].t);
	crt_transport_destroy(other.t);
}

/* The other provider: ofi+sockets maps to libfabric's sockets RDM endpoints. */
static void test_sockets_provider(void **state)
{
	struct node a = {.rank = 0}, b = {.rank = 1};
	struct fab_config cfg;
	char err[256];
	struct crt_rpc *rpc;

	(void)state;
	assert_int_equal(fab_provider_map("ofi+verbs", &cfg, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "'ofi+verbs' (D_PROVIDER)"));
	assert_int_equal(fab_provider_map("ofi+tcp;ofi_rxm", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.provider, "tcp;ofi_rxm");
	assert_string_equal(cfg.scheme, "ofi+tcp");
	mk_prov(&a, 1, 1, NULL, "ofi+sockets");
	mk_prov(&b, 1, 1, NULL, "ofi+sockets");
	assert_non_null(strstr(crt_transport_uri(b.t), "ofi+sockets://127.0.0.1:"));
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), crt_transport_uri(b.t), 0,
					    OPC_ECHO, &rpc), 0);
	((struct echo_in *)crt_req_input(rpc))->v = 1;
	crt_req_set_timeout(rpc, 10000);
	assert_int_equal(crt_req_send_sync(rpc), 0);
	assert_int_equal(((const struct echo_out *)crt_req_output(rpc))->v, 2);
	crt_req_decref(rpc);
	crt_transport_destroy(a.t);
	crt_transport_destroy(b.t);
}

/* A peer restarted at the same address (a new engine process): the old connection is dead,
 * requests reach the new one (after at most a bounded number of failures). */
static void test_peer_restart(void **state)
{
	struct node a = {.rank = 0}, b = {.rank = 1};
	char uri[160];
	uint32_t ip;
	uint16_t port;
	struct crt_rpc *rpc;
	int rc = -1;

	(void)state;
	mk(&a, 1, 1, NULL);
	mk(&b, 1, 1, NULL);
	snprintf(uri, sizeof(uri), "%s", crt_transport_uri(b.t));
	assert_int_equal(crt_uri_parse(uri, &ip, &port), 0);
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), uri, 0, OPC_ECHO, &rpc), 0);
	crt_req_set_timeout(rpc, 10000);
	assert_int_equal(crt_req_send_sync(rpc), 0);
	crt_req_decref(rpc);
	crt_transport_destroy(b.t);
	{
		struct crt_transport_opts o = {
			.fab = {.provider = "tcp;ofi_rxm", .scheme = "ofi+tcp", .ip = "127.0.0.1",
				.port = port},
			.nctx = 1, .threads = 1, .user = &b,
		};
		char err[256];

		if (crt_transport_create(&o, &b.t, err, sizeof(err)) != 0)
			fail_msg("restart at port %u: %s", port, err);
		assert_int_equal(crt_proto_register(b.t, &test_proto), 0);
		assert_string_equal(crt_transport_uri(b.t), uri);
	}
	b.rank = 7; /* the new process answers as itself */
	for (int i = 0; i < 5 && rc != 0; i++) {
		assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), uri, 0, OPC_ECHO, &rpc),
				 0);
		crt_req_set_timeout(rpc, 2000);
		rc = crt_req_send_sync(rpc);
		if (rc == 0)
			assert_int_equal(((const struct echo_out *)crt_req_output(rpc))->rank, 7);
		crt_req_decref(rpc);
	}
	assert_int_equal(rc, 0);
	crt_transport_destroy(a.t);
	crt_transport_destroy(b.t);
}

/* ---- timeout and cancel ---- */

static int cb_status = 1;
static void record_cb(struct crt_rpc *rpc, int status, void *arg)
{
	(void)rpc;
	(void)arg;
	__atomic_store_n(&cb_status, status, __ATOMIC_SEQ_CST);
}

static void test_timeout_cancel(void **state)
{
	struct node a = {.rank = 0}, deaf = {.rank = 1}, slow = {.rank = 2};
	struct crt_rpc *rpc;
	int64_t t0;
	int rc;

	(void)state;
	mk(&a, 1, 1, NULL);
	mk(&deaf, 1, 0, NULL); /* an endpoint nobody progresses: a hung engine */
	mk(&slow, 1, 1, NULL);

	/* a hung endpoint never completes ofi_rxm's connection handshake: at the rpc's own
	 * timeout the request has not left, and says so (-DER_UNREACH) */
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), crt_transport_uri(deaf.t), 0,
					    OPC_ECHO, &rpc), 0);
	crt_req_set_timeout(rpc, 300);
	t0 = now_ms();
	rc = crt_req_send_sync(rpc);
	assert_int_equal(rc, -DER_UNREACH);
	assert_true(now_ms() - t0 >= 290);
	assert_true(now_ms() - t0 < 2000);
	crt_req_decref(rpc);

	/* a closed port: the same, bounded by the timeout */
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), "ofi+tcp://127.0.0.1:1", 0,
					    OPC_ECHO, &rpc), 0);
	crt_req_set_timeout(rpc, 300);
	assert_int_equal(crt_req_send_sync(rpc), -DER_UNREACH);
	crt_req_decref(rpc);

	/* a handler slower than the timeout, on a connected peer: -DER_TIMEDOUT, and the late
	 * reply is ignored */
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), crt_transport_uri(slow.t), 0,
					    OPC_ECHO, &rpc), 0);
	crt_req_set_timeout(rpc, 10000);
	assert_int_equal(crt_req_send_sync(rpc), 0); /* connects */
	crt_req_decref(rpc);
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), crt_transport_uri(slow.t), 0,
					    OPC_SLEEP, &rpc), 0);
	((struct echo_in *)crt_req_input(rpc))->v = 400;
	crt_req_set_timeout(rpc, 100);
	assert_int_equal(crt_req_send_sync(rpc), -DER_TIMEDOUT);
	crt_req_decref(rpc);
	usleep(500000); /* let the late reply arrive and be dropped */

	/* cancel: the callback gets -DER_CANCELED long before the timeout */
	assert_int_equal(crt_req_create_uri(crt_context_get(a.t, 0), crt_transport_uri(deaf.t), 0,
					    OPC_ECHO, &rpc), 0);
	crt_req_set_timeout(rpc, 60000);
	cb_status = 1;
	t0 = now_ms();
	assert_int_equal(crt_req_send(rpc, record_cb, NULL), 0);
	usleep(50000);
	assert_int_equal(__atomic_load_n(&cb_status, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(crt_req_abort(rpc), 0);
	while (__atomic_load_n(&cb_status, __ATOMIC_SEQ_CST) == 1 && now_ms() - t0 < 5000)
		usleep(1000);
	assert_int_equal(cb_status, -DER_CANCELED);
	assert_true(now_ms() - t0 < 5000);
	assert_int_equal(crt_req_abort(rpc), -EALREADY);
	crt_req_decref(rpc);

	/* a send from the context's own thread would deadlock: refused */
	crt_transport_destroy(a.t);
	crt_transport_destroy(deaf.t);
	crt_transport_destroy(slow.t);
}

/* ---- collectives ---- */

#define NCOLL 9

static int run_sum(struct node *nodes, uint32_t root, const uint32_t *ex, size_t nex,
		   unsigned k, int timeout_ms, struct sum_out *out,
		   struct crt_failure *fail, size_t *nfail)
{
	struct crt_rpc *rpc;
	const struct crt_failure *f;
	int rc;

	assert_int_equal(crt_corpc_create(crt_context_get(nodes[root].t, 0), OPC_SUM, ex, nex, k,
					  &rpc), 0);
	crt_req_set_timeout(rpc, timeout_ms);
	rc = crt_req_send_sync(rpc);
	memcpy(out, crt_req_output(rpc), sizeof(*out));
	*nfail = crt_req_failures(rpc, &f);
	if (*nfail)
		memcpy(fail, f, *nfail * sizeof(*f));
	crt_req_decref(rpc);
	return rc;
}

static int has_failure(const struct crt_failure *f, size_t n, uint32_t rank, int status)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].rank == rank && f[i].status == status)
			return 1;
	return 0;
}

static void test_collective(void **state)
{
	struct node nodes[NCOLL];
	struct crt_failure fail[NCOLL * 2];
	struct sum_out out;
	size_t nfail;
	uint32_t ex[] = {3};
	int64_t t0;

	(void)state;
	for (uint32_t i = 0; i < NCOLL; i++) {
		nodes[i] = (struct node){.rank = i};
		mk(&nodes[i], 1, 1, "sys");
	}
	set_group(nodes, NCOLL, 2);

	/* everyone answers: sum 0+..+8 = 36, for several fan-outs and roots (a generous budget:
	 * the first use of each link includes ofi_rxm's connection set-up, ~0.2 s here) */
	for (unsigned k = 4; k >= 1; k--) {
		assert_int_equal(run_sum(nodes, k % NCOLL, NULL, 0, k, 20000, &out, fail, &nfail), 0);
		assert_int_equal(out.count, NCOLL);
		assert_int_equal(out.sum, 36);
		assert_int_equal(nfail, 0);
	}
	/* a collective cannot be aborted (its children's timeouts bound it) */
	{
		struct crt_rpc *rpc;

		assert_int_equal(crt_corpc_create(crt_context_get(nodes[0].t, 0), OPC_SUM, NULL, 0,
						  2, &rpc), 0);
		assert_int_equal(crt_req_abort(rpc), -EOPNOTSUPP);
		crt_req_decref(rpc);
		/* nor built on an RPC without an aggregate function, nor with fan-out 0 */
		assert_int_equal(crt_corpc_create(crt_context_get(nodes[0].t, 0), OPC_ECHO, NULL, 0,
						  2, &rpc), -EINVAL);
		assert_int_equal(crt_corpc_create(crt_context_get(nodes[0].t, 0), OPC_SUM, NULL, 0,
						  0, &rpc), -EINVAL);
	}
	/* an excluded rank is skipped without being a failure */
	assert_int_equal(run_sum(nodes, 0, ex, 1, 2, 5000, &out, fail, &nfail), 0);
	assert_int_equal(out.count, NCOLL - 1);
	assert_int_equal(out.sum, 33);

	/* a failing handler: reported with its status, its subtree still counted */
	nodes[1].fail = 1;
	assert_int_equal(run_sum(nodes, 0, NULL, 0, 2, 5000, &out, fail, &nfail),
			 -DER_CORPC_INCOMPLETE);
	assert_int_equal(nfail, 1);
	assert_true(has_failure(fail, nfail, 1, -DER_INVAL));
	assert_int_equal(out.count, NCOLL - 1);
	assert_int_equal(out.sum, 35);
	nodes[1].fail = 0;

	/* a slow child (k=2 from root 0: 1 and 2 are children, 3..6 grandchildren): rank 2 is
	 * reported timed out with its subtree unreached, within the root's budget (its children
	 * get 3/4 of it), long before the slow handler ends */
	nodes[2].sleep_ms = 4000;
	t0 = now_ms();
	assert_int_equal(run_sum(nodes, 0, NULL, 0, 2, 2000, &out, fail, &nfail),
			 -DER_CORPC_INCOMPLETE);
	assert_true(now_ms() - t0 < 3500);
	assert_true(has_failure(fail, nfail, 2, -DER_TIMEDOUT));
	assert_true(has_failure(fail, nfail, 5, -DER_UNREACH));
	assert_true(has_failure(fail, nfail, 6, -DER_UNREACH));
	assert_int_equal(nfail, 3); /* 2 and its children 5, 6 */
	assert_int_equal(out.count, NCOLL - 3);
	nodes[2].sleep_ms = 0;
	usleep(3000000); /* rank 2 finishes its sleep and its late reply is dropped */

	/* a dead rank (its port closed): its parent reports it unreachable, the rest answer */
	crt_transport_destroy(nodes[8].t);
	assert_int_equal(run_sum(nodes, 0, NULL, 0, 2, 3000, &out, fail, &nfail),
			 -DER_CORPC_INCOMPLETE);
	assert_int_equal(nfail, 1);
	assert_int_equal(fail[0].rank, 8);
	assert_int_equal(fail[0].status, -DER_UNREACH);
	assert_int_equal(out.count, NCOLL - 1);
	/* excluding the dead rank makes it whole again */
	ex[0] = 8;
	assert_int_equal(run_sum(nodes, 0, ex, 1, 2, 5000, &out, fail, &nfail), 0);
	assert_int_equal(out.count, NCOLL - 1);

	/* a node holding another map version refuses to take part (-DER_GRPVER) */
	{
		struct crt_member m[NCOLL];

		for (uint32_t i = 0; i < NCOLL; i++) {
			m[i].rank = i;
			snprintf(m[i].uri, sizeof(m[i].uri), "%s",
				 i == 8 ? "ofi+tcp://127.0.0.1:1" : crt_transport_uri(nodes[i].t));
		}
		assert_int_equal(crt_group_update(nodes[1].t, 1, 3, m, NCOLL), 0);
		assert_int_equal(run_sum(nodes, 0, ex, 1, 2, 5000, &out, fail, &nfail),
				 -DER_CORPC_INCOMPLETE);
		assert_true(has_failure(fail, nfail, 1, -DER_GRPVER));
		assert_true(has_failure(fail, nfail, 3, -DER_UNREACH));
		assert_true(has_failure(fail, nfail, 4, -DER_UNREACH));
	}
	/* the root must be a member */
	ex[0] = 0;
	assert_int_equal(run_sum(nodes, 0, ex, 1, 2, 5000, &out, fail, &nfail), -DER_OOG);
	for (uint32_t i = 0; i < NCOLL - 1; i++)
		crt_transport_destroy(nodes[i].t);
}

/* The value of field in the tree's metric at path (-1 when the metric is missing). */
static int64_t tm_value(json_object *root, const char *path, const char *field)
{
	json_object *list = json_object_object_get(root, "metrics");

	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *m = json_object_array_get_idx(list, i);

		if (strcmp(json_object_get_string(json_object_object_get(m, "path")), path) == 0)
			return json_object_get_int64(json_object_object_get(m, field));
	}
	return -1;
}

/* Per-opcode and per-context counts and latencies go to the telemetry tree. */
static void test_telemetry(void **state)
{
	struct node a = {.rank = 0}, b = {.rank = 1};
	struct node nodes[2];
	struct dss_tm *tm;
	struct crt_rpc *rpc;
	char dir[] = "/tmp/crt_tm_XXXXXX", err[256], *json = NULL, cmd[64];
	json_object *root;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(dss_tm_create(dir, "crt", 0, 256, &tm, err, sizeof(err)), 0);
	dss_tm_set_global(tm);
	mk(&a, 2, 1, "sys");
	mk(&b, 2, 1, "sys");
	nodes[0] = a;
	nodes[1] = b;
	set_group(nodes, 2, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(echo_rank(crt_context_get(a.t, 1), 1, 0, OPC_ECHO, 1, NULL), 0);
	assert_int_equal(echo_rank(crt_context_get(a.t, 0), 1, 0, OPC_ECHO, 0xBAD, NULL),
			 -DER_INVAL);
	/* a handler slower than the timeout */
	assert_int_equal(crt_req_create(crt_context_get(a.t, 0), 1, 1, OPC_SLEEP, &rpc), 0);
	((struct echo_in *)crt_req_input(rpc))->v = 400;
	crt_req_set_timeout(rpc, 100);
	assert_int_equal(crt_req_send_sync(rpc), -DER_TIMEDOUT);
	crt_req_decref(rpc);
	usleep(500 * 1000); /* the sleeping handler finishes before the transports go */
	crt_transport_destroy(a.t);
	crt_transport_destroy(b.t);

	assert_int_equal(daos_tm_read(dir, "crt", 0, &json, err, sizeof(err)), 0);
	root = json_tokener_parse(json);
	daos_tm_free(json);
	assert_non_null(root);
	/* both transports share the tree: sent by A, served by B */
	assert_int_equal(tm_value(root, "net/ofi+tcp/op/test.echo/sent", "value"), 4);
	assert_int_equal(tm_value(root, "net/ofi+tcp/op/test.echo/served", "value"), 4);
	assert_int_equal(tm_value(root, "net/ofi+tcp/op/test.echo/failed", "value"), 1);
	assert_int_equal(tm_value(root, "net/ofi+tcp/op/test.echo/latency", "count"), 4);
	assert_true(tm_value(root, "net/ofi+tcp/op/test.echo/latency", "min") > 0);
	assert_int_equal(tm_value(root, "net/ofi+tcp/op/test.sleep/failed", "value"), 1);
	assert_int_equal(tm_value(root, "net/ofi+tcp/op/test.sum/sent", "value"), 0);
	/* per context: A's context 1 sent 3, context 0 the bad echo and the sleep */
	assert_int_equal(tm_value(root, "net/ofi+tcp/req_sent/ctx_1", "value"), 3);
	assert_int_equal(tm_value(root, "net/ofi+tcp/req_sent/ctx_0", "value"), 2);
	assert_int_equal(tm_value(root, "net/ofi+tcp/req_recv/ctx_0", "value"), 4);
	assert_int_equal(tm_value(root, "net/ofi+tcp/req_recv/ctx_1", "value"), 1);
	assert_int_equal(tm_value(root, "net/ofi+tcp/req_timeout/ctx_0", "value"), 1);
	assert_int_equal(tm_value(root, "net/ofi+tcp/req_timeout/ctx_1", "value"), 0);
	assert_int_equal(tm_value(root, "net/ofi+tcp/req_latency/ctx_1", "count"), 3);
	json_object_put(root);
	dss_tm_set_global(NULL);
	dss_tm_destroy(tm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_group_checks),
		cmocka_unit_test(test_sockets_provider),
		cmocka_unit_test(test_peer_restart),
		cmocka_unit_test(test_timeout_cancel),
		cmocka_unit_test(test_collective),
		cmocka_unit_test(test_telemetry),
	};

	dss_log_set_mask("CRIT"); /* the failure paths under test log warnings */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
