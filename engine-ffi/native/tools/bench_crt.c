/*
 * Bench helper for the RPC layer (tests/bench/scenarios/fabric.ts), driven line by line on
 * stdin; each command answers one line "ok <elapsed µs>" (or "err <message>") on stdout.
 *
 *   bench_crt rtt [provider]          two transports in this process (ofi+tcp by default), a
 *                                     64-byte echo RPC between them, and a raw pair of
 *                                     libfabric endpoints (fabric.h) ping-ponging a message of
 *                                     the same wire size (header + 64 bytes) with no RPC layer:
 *       crt N    N sequential RPC round trips
 *       raw N    N raw round trips (the floor: what libfabric itself costs)
 *   bench_crt rtt PROVIDER tm         the same with a telemetry tree (a fresh directory in /tmp,
 *                                     removed at quit): the RPC layer counts and times every RPC
 *                                     (fabric-telemetry-cost compares it with the plain helper)
 *   bench_crt coll RANKS [fanout]     RANKS transports in this process (stand-in engines: one
 *                                     endpoint and one context thread each), one group:
 *       coll N   N collective RPCs from rank 0 over the k-ary tree (each rank's handler runs,
 *                outputs aggregated)
 *       p2p N    N rounds of RANKS-1 sequential point-to-point RPCs from rank 0 (the same
 *                work without the tree)
 *   quit
 * Connections are made before "ready" is printed (ofi_rxm connects on first contact), so the
 * timed commands measure warm links.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crt.h"
#include "fabric.h"
#include "log.h"
#include "telemetry.h"

#define BASE	 0x42000000u
#define OPC_ECHO CRT_PROTO_OPC(BASE, 1, 0)
#define OPC_SUM	 CRT_PROTO_OPC(BASE, 1, 1)
#define PAYLOAD	 64
#define TIMEOUT	 30000

struct echo { uint8_t b[PAYLOAD]; };
struct sum { uint64_t count; };

static int h_echo(const struct crt_req_info *ri, const void *in, void *out)
{
	(void)ri;
	memcpy(out, in, sizeof(struct echo));
	return 0;
}

static int h_sum(const struct crt_req_info *ri, const void *in, void *out)
{
	(void)ri;
	(void)in;
	((struct sum *)out)->count = 1;
	return 0;
}

static void agg_sum(void *acc, const void *child)
{
	((struct sum *)acc)->count += ((const struct sum *)child)->count;
}

static const struct crt_proto_rpc_format rpcs[] = {
	{"echo", sizeof(struct echo), sizeof(struct echo), NULL, h_echo, NULL},
	{"sum", sizeof(struct echo), sizeof(struct sum), NULL, h_sum, agg_sum},
};
static const struct crt_proto_format proto = {
	.name = "bench", .version = 1, .count = 2, .rpcs = rpcs, .base = BASE,
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static struct crt_transport *mk(const char *provider, char *err, size_t errlen)
{
	struct crt_transport_opts o = {.fab = {.ip = "127.0.0.1"}, .nctx = 1, .threads = 1,
				       .system = "bench"};
	struct crt_transport *t = NULL;

	if (fab_provider_map(provider, &o.fab, err, errlen) != 0)
		return NULL;
	snprintf(o.fab.ip, sizeof(o.fab.ip), "127.0.0.1");
	if (crt_transport_create(&o, &t, err, errlen) != 0)
		return NULL;
	if (crt_proto_register(t, &proto) != 0) {
		snprintf(err, errlen, "protocol registration failed");
		crt_transport_destroy(t);
		return NULL;
	}
	return t;
}

static int set_group(struct crt_transport **t, size_t n)
{
	struct crt_member *m = calloc(n, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		m[i].rank = (uint32_t)i;
		snprintf(m[i].uri, sizeof(m[i].uri), "%s", crt_transport_uri(t[i]));
	}
	for (size_t i = 0; i < n; i++)
		if (crt_group_update(t[i], (uint32_t)i, 1, m, n) < 0) {
			free(m);
			return -EINVAL;
		}
	free(m);
	return 0;
}

static int echo(struct crt_transport *from, uint32_t rank)
{
	struct crt_rpc *rpc;
	int rc = crt_req_create(crt_context_get(from, 0), rank, 0, OPC_ECHO, &rpc);

	if (rc != 0)
		return rc;
	memset(crt_req_input(rpc), 0x5A, PAYLOAD);
	crt_req_set_timeout(rpc, TIMEOUT);
	rc = crt_req_send_sync(rpc);
	crt_req_decref(rpc);
	return rc;
}

static int coll(struct crt_transport *root, unsigned k, size_t n)
{
	struct crt_rpc *rpc;
	int rc = crt_corpc_create(crt_context_get(root, 0), OPC_SUM, NULL, 0, k, &rpc);

	if (rc != 0)
		return rc;
	crt_req_set_timeout(rpc, TIMEOUT);
	rc = crt_req_send_sync(rpc);
	if (rc == 0 && ((const struct sum *)crt_req_output(rpc))->count != n)
		rc = -DER_CORPC_INCOMPLETE;
	crt_req_decref(rpc);
	return rc;
}

/* ---- raw libfabric ping-pong (no RPC layer) ---- */

struct raw {
	struct fab_ep *a, *b;
	uint32_t aip, bip;
	uint16_t aport, bport;
	int stop;	    /* atomic */
	int got;	    /* atomic: A received the pong */
	int pings;	    /* B's thread only: pings to answer */
	pthread_t b_thread; /* progresses B, which echoes */
};

static struct raw raw;

static void a_recv(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	(void)msg;
	(void)len;
	__atomic_store_n(&raw.got, 1, __ATOMIC_SEQ_CST);
}

/* B answers from its loop, not from the callback (fab_progress delivers under its lock). */
static void b_recv(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	(void)msg;
	(void)len;
	raw.pings++;
}

static void no_err(void *arg, uint64_t cookie, int rc)
{
	(void)arg;
	(void)cookie;
	(void)rc;
}

static void *b_main(void *arg)
{
	(void)arg;
	static uint8_t msg[CRT_HDR_LEN + PAYLOAD];

	while (!__atomic_load_n(&raw.stop, __ATOMIC_SEQ_CST)) {
		fab_progress(raw.b, 100, -1);
		for (; raw.pings > 0; raw.pings--)
			(void)fab_send(raw.b, raw.aip, raw.aport, msg, sizeof(msg), 0);
	}
	return NULL;
}

static int raw_open(const char *provider, char *err, size_t errlen)
{
	struct fab_config c = {0};
	int rc = fab_provider_map(provider, &c, err, errlen);

	if (rc != 0)
		return rc;
	snprintf(c.ip, sizeof(c.ip), "127.0.0.1");
	rc = fab_open(&c, a_recv, no_err, NULL, &raw.a, err, errlen);
	if (rc == 0)
		rc = fab_open(&c, b_recv, no_err, NULL, &raw.b, err, errlen);
	if (rc != 0)
		return rc;
	fab_addr(raw.a, &raw.aip, &raw.aport);
	fab_addr(raw.b, &raw.bip, &raw.bport);
	return -pthread_create(&raw.b_thread, NULL, b_main, NULL);
}

/* One round trip A → B → A; bounded by TIMEOUT. */
static int raw_rtt(void)
{
	static uint8_t msg[CRT_HDR_LEN + PAYLOAD];
	double t0 = now_us();
	int rc;

	__atomic_store_n(&raw.got, 0, __ATOMIC_SEQ_CST);
	rc = fab_send(raw.a, raw.bip, raw.bport, msg, sizeof(msg), 0);
	if (rc != 0)
		return rc;
	while (!__atomic_load_n(&raw.got, __ATOMIC_SEQ_CST)) {
		fab_progress(raw.a, 100, -1);
		if (now_us() - t0 > TIMEOUT * 1e3)
			return -ETIMEDOUT;
	}
	return 0;
}

/* ---- command loop ---- */

static int serve(int (*cmd)(const char *what, long n))
{
	char line[128], what[16];
	long n;

	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		double t0;
		int rc;

		if (strncmp(line, "quit", 4) == 0)
			break;
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%15s %ld", what, &n) != 2 || n < 1) {
			printf("err bad command '%s': expected '<what> <count>'\n", line);
			fflush(stdout);
			continue;
		}
		t0 = now_us();
		rc = cmd(what, n);
		if (rc == 0)
			printf("ok %.1f\n", now_us() - t0);
		else
			printf("err %s %ld: %s (%d)\n", what, n, crt_strerror(rc), rc);
		fflush(stdout);
	}
	return 0;
}

static struct crt_transport **ts;
static size_t nts;
static unsigned fanout = 32;

static int rtt_cmd(const char *what, long n)
{
	int rc = 0;

	for (long i = 0; i < n && rc == 0; i++) {
		if (strcmp(what, "crt") == 0)
			rc = echo(ts[0], 1);
		else if (strcmp(what, "raw") == 0)
			rc = raw_rtt();
		else
			rc = -EINVAL;
	}
	return rc;
}

static int coll_cmd(const char *what, long n)
{
	int rc = 0;

	for (long i = 0; i < n && rc == 0; i++) {
		if (strcmp(what, "coll") == 0) {
			rc = coll(ts[0], fanout, nts);
		} else if (strcmp(what, "p2p") == 0) {
			for (size_t r = 1; r < nts && rc == 0; r++)
				rc = echo(ts[0], (uint32_t)r);
		} else {
			rc = -EINVAL;
		}
	}
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_crt rtt [provider [tm]] | bench_crt coll RANKS [fanout]\n");
}

int main(int argc, char **argv)
{
	char err[256] = "";
	const char *provider = "ofi+tcp";
	char tm_dir[] = "/tmp/bench_crt_tm_XXXXXX";
	struct dss_tm *tm = NULL;
	int rc;

	dss_log_set_mask("CRIT");
	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "rtt") == 0) {
		if (argc > 2)
			provider = argv[2];
		if (argc > 3 && strcmp(argv[3], "tm") != 0) {
			usage();
			return 2;
		}
		/* the tree before the transports: they create their metric nodes with it */
		if (argc > 3 && (mkdtemp(tm_dir) == NULL ||
				 dss_tm_create(tm_dir, "bench", 0, DSS_TM_DEFAULT_SLOTS, &tm, err,
					       sizeof(err)) != 0)) {
			fprintf(stderr, "bench_crt: telemetry tree in %s: %s\n", tm_dir,
				err[0] ? err : strerror(errno));
			return 1;
		}
		dss_tm_set_global(tm);
		nts = 2;
	} else if (strcmp(argv[1], "coll") == 0 && argc > 2) {
		nts = (size_t)strtoul(argv[2], NULL, 10);
		if (argc > 3)
			fanout = (unsigned)strtoul(argv[3], NULL, 10);
		if (nts < 2 || nts > CRT_CORPC_MAX_RANKS || fanout < 1 || fanout > 64) {
			fprintf(stderr, "bench_crt: RANKS must be 2..%d and fanout 1..64\n",
				CRT_CORPC_MAX_RANKS);
			return 2;
		}
	} else {
		usage();
		return 2;
	}
	ts = calloc(nts, sizeof(*ts));
	for (size_t i = 0; i < nts; i++) {
		ts[i] = mk(provider, err, sizeof(err));
		if (ts[i] == NULL) {
			fprintf(stderr, "bench_crt: transport %zu: %s\n", i, err);
			return 1;
		}
	}
	if (set_group(ts, nts) != 0) {
		fprintf(stderr, "bench_crt: cannot install the group\n");
		return 1;
	}
	/* warm every link the timed commands use */
	rc = 0;
	for (size_t r = 1; r < nts && rc == 0; r++)
		if ((rc = echo(ts[0], (uint32_t)r)) != 0)
			fprintf(stderr, "bench_crt: warm-up RPC to rank %zu: %s (%d)\n", r,
				crt_strerror(rc), rc);
	if (rc == 0 && nts > 2)
		for (int i = 0; i < 3 && rc == 0; i++)
			if ((rc = coll(ts[0], fanout, nts)) != 0)
				fprintf(stderr, "bench_crt: warm-up collective: %s (%d)\n",
					crt_strerror(rc), rc);
	if (rc == 0 && strcmp(argv[1], "rtt") == 0) {
		rc = raw_open(provider, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "bench_crt: raw endpoints: %s\n", err);
			return 1;
		}
		if ((rc = raw_rtt()) != 0)
			fprintf(stderr, "bench_crt: warm-up raw round trip: %s\n", strerror(-rc));
	}
	if (rc != 0)
		return 1;
	serve(strcmp(argv[1], "rtt") == 0 ? rtt_cmd : coll_cmd);
	if (raw.a != NULL) {
		__atomic_store_n(&raw.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(raw.b_thread, NULL);
		fab_close(raw.a);
		fab_close(raw.b);
	}
	for (size_t i = 0; i < nts; i++)
		crt_transport_destroy(ts[i]);
	if (tm != NULL) {
		dss_tm_set_global(NULL);
		dss_tm_destroy(tm);
		rmdir(tm_dir);
	}
	free(ts);
	return 0;
}
