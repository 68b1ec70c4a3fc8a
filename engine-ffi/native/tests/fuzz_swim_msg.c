/*
 * libFuzzer target for the SWIM and IV message decoders and receive paths.
 * Input: [src][self][message bytes...].
 *  1. The bytes go through swim_msg_decode and iv_msg_decode; whatever decodes must encode
 *     back to exactly the same bytes (the encodings are canonical, the decoders strict).
 *  2. The bytes are handed to swim_recv of a fresh SWIM context (members 0..7, the sender
 *     picked by src, 8 = not a member) and to iv_recv of a fresh IV namespace (7 ranks in a
 *     binary tree, self picked by self), and the timers run. Every message the context or the
 *     namespace sends in reply must pass its own strict decoder.
 *  3. The bytes are also cut into length-prefixed pieces fed one after the other to one SWIM
 *     context and one IV namespace, with ticks between, to reach deeper states.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iv.h"
#include "swim.h"

static int swim_send(void *arg, uint32_t dst, const uint8_t *buf, size_t len)
{
	struct swim_msg m;

	(void)arg;
	if (dst >= 8 || swim_msg_decode(buf, len, &m) != 0)
		abort();
	return 0;
}

static void swim_dead(void *arg, uint32_t rank, uint64_t inc, enum swim_dead_reason reason)
{
	(void)arg;
	(void)inc;
	if (rank == 0 || rank >= 8 ||
	    (reason != SWIM_DEAD_GOSSIP && reason != SWIM_DEAD_SUSPECT_TIMEOUT &&
	     reason != SWIM_DEAD_ISOLATED))
		abort();
}

static const struct swim_ops sops = {.send = swim_send, .member_dead = swim_dead};

static int iv_send(void *arg, uint32_t dst, const uint8_t *buf, size_t len)
{
	struct iv_msg m;

	(void)arg;
	if (dst >= 7 || iv_msg_decode(buf, len, &m) != 0)
		abort();
	return 0;
}

static uint32_t iv_parent(void *arg, uint32_t rank)
{
	(void)arg;
	return rank == 0 ? IV_RANK_NONE : (rank - 1) / 2;
}

static size_t iv_children(void *arg, uint32_t rank, uint32_t *out, size_t max)
{
	size_t n = 0;

	(void)arg;
	for (uint32_t c = 2 * rank + 1; c <= 2 * rank + 2 && c < 7; c++)
		if (n < max)
			out[n++] = c;
	return n;
}

static const struct iv_ops iops = {
	.send = iv_send, .parent_of = iv_parent, .children_of = iv_children};

static int cls_fetch(void *arg, const uint8_t *key, size_t klen, const uint8_t **val,
		     size_t *len, uint64_t *version)
{
	(void)arg;
	if (klen == 0 || klen > IV_KEY_MAX || key == NULL)
		abort();
	*val = (const uint8_t *)"source";
	*len = 6;
	*version = 2;
	return 0;
}

static const struct iv_class_ops cops = {.fetch = cls_fetch};

static void on_fetch(void *arg, int rc, const uint8_t *val, size_t len, uint64_t version)
{
	(void)arg;
	(void)version;
	if (rc == 0 && len > 0 && val == NULL)
		abort();
}

static struct swim_ctx *new_swim(void)
{
	struct dss_tunables t;
	struct swim_ctx *ctx;

	dss_tunables_defaults(&t);
	if (swim_init(&ctx, 0, 1, &sops, NULL, &t) != 0)
		abort();
	for (uint32_t r = 1; r < 8; r++)
		if (swim_member_add(ctx, r, 1) != 0)
			abort();
	return ctx;
}

static struct iv_ns *new_iv(uint32_t self)
{
	struct iv_ns *ns;

	if (iv_init(&ns, self, &iops, NULL, 1000) != 0 || iv_class_register(ns, 7, &cops, NULL))
		abort();
	return ns;
}

static void check_canonical(const uint8_t *p, size_t n)
{
	static uint8_t out[IV_MSG_MAX_SIZE];
	struct swim_msg sm;
	struct iv_msg im;
	size_t len;

	if (swim_msg_decode(p, n, &sm) == 0) {
		if (swim_msg_encode(&sm, out, sizeof(out), &len) != 0 || len != n ||
		    memcmp(out, p, n) != 0)
			abort();
	}
	if (iv_msg_decode(p, n, &im) == 0) {
		if (iv_msg_encode(&im, out, sizeof(out), &len) != 0 || len != n ||
		    memcmp(out, p, n) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct swim_ctx *sc;
	struct iv_ns *ns;
	uint32_t src, self;
	const uint8_t *p;
	size_t n, off;
	uint64_t now = 1000;

	if (size < 2)
		return 0;
	src = data[0] % 9;
	self = data[1] % 7;
	p = data + 2;
	n = size - 2;
	check_canonical(p, n);

	sc = new_swim();
	(void)swim_recv(sc, src, p, n, now);
	for (int i = 0; i < 30; i++)
		(void)swim_tick(sc, now += 500);
	swim_fini(sc);

	ns = new_iv(self);
	(void)iv_fetch(ns, 7, (const uint8_t *)"k", 1, on_fetch, NULL, now);
	(void)iv_recv(ns, src % 7, p, n, now);
	(void)iv_tick(ns, now + 5000);
	iv_fini(ns);

	/* a sequence: [len][bytes] pieces, alternating senders */
	sc = new_swim();
	ns = new_iv(self);
	(void)iv_fetch(ns, 7, (const uint8_t *)"k", 1, on_fetch, NULL, now);
	for (off = 0; off < n;) {
		size_t len = p[off++];

		if (len > n - off)
			len = n - off;
		(void)swim_recv(sc, 1 + (uint32_t)(off % 7), p + off, len, now);
		(void)iv_recv(ns, (uint32_t)(off % 7), p + off, len, now);
		(void)swim_tick(sc, now += 300);
		(void)iv_tick(ns, now);
		off += len;
	}
	swim_fini(sc);
	iv_fini(ns);
	return 0;
}
