/* cmocka tests of the dRPC chunk framing (spec/server.md §6.2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "drpc_frame.h"

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + 7);
	return p;
}

static void test_header_layout(void **state)
{
	struct drpc_hdr h = {.total = 0x0102030405060708ULL, .chunk_size = 0x1122,
			     .idx = 0xAABBCCDD, .chunks = 3}, back;
	uint8_t raw[DRPC_HDR_SIZE];

	(void)state;
	drpc_hdr_encode(&h, raw);
	/* little endian, fields in order: u64 total, u64 chunk, u32 idx, u32 chunks */
	assert_int_equal(raw[0], 0x08);
	assert_int_equal(raw[7], 0x01);
	assert_int_equal(raw[8], 0x22);
	assert_int_equal(raw[9], 0x11);
	assert_int_equal(raw[16], 0xDD);
	assert_int_equal(raw[20], 3);
	drpc_hdr_decode(raw, &back);
	assert_memory_equal(&h, &back, sizeof(h));
}

static void test_chunk_count(void **state)
{
	(void)state;
	assert_int_equal(drpc_chunk_count(0), 1);
	assert_int_equal(drpc_chunk_count(1), 1);
	assert_int_equal(drpc_chunk_count(131048), 1);
	assert_int_equal(drpc_chunk_count(131049), 2);
	assert_int_equal(drpc_chunk_count(3 * 131048), 3);
}

/* Encode, then decode fed in pieces of `step` bytes; the message must come back whole. */
static void roundtrip(size_t n, size_t step)
{
	uint8_t *msg = pattern(n), *framed, *out = NULL;
	size_t flen, out_len = 0, off = 0;
	struct drpc_rx rx;
	int done = 0;

	assert_int_equal(drpc_frame_encode(msg, n, &framed, &flen), 0);
	assert_int_equal(flen, n + drpc_chunk_count(n) * DRPC_HDR_SIZE);
	drpc_rx_init(&rx);
	while (off < flen) {
		size_t len = flen - off < step ? flen - off : step, used;
		int rc = drpc_rx_feed(&rx, framed + off, len, &used, &out, &out_len);

		assert_true(rc >= 0);
		off += used;
		if (rc == 1) {
			done = 1;
			assert_int_equal(off, flen);
		}
	}
	assert_true(done);
	assert_int_equal(out_len, n);
	assert_memory_equal(out, msg, n);
	free(out);
	free(framed);
	free(msg);
	drpc_rx_reset(&rx);
}

static void test_roundtrip_sizes(void **state)
{
	(void)state;
	roundtrip(0, 1000);
	roundtrip(1, 1);
	roundtrip(100, 7);
	roundtrip(131048, 65536);
	roundtrip(131049, 131072);
	roundtrip(400000, 4096);
	roundtrip(400000, 1 << 20);
}

static void test_chunks_are_at_most_128k(void **state)
{
	uint8_t *msg = pattern(300000), *framed;
	size_t flen, off = 0;
	int chunks = 0;

	(void)state;
	assert_int_equal(drpc_frame_encode(msg, 300000, &framed, &flen), 0);
	while (off < flen) {
		struct drpc_hdr h;

		drpc_hdr_decode(framed + off, &h);
		assert_true(h.chunk_size + DRPC_HDR_SIZE <= DRPC_MAX_CHUNK);
		assert_int_equal(h.idx, chunks);
		assert_int_equal(h.chunks, 3);
		assert_int_equal(h.total, 300000);
		off += DRPC_HDR_SIZE + h.chunk_size;
		chunks++;
	}
	assert_int_equal(chunks, 3);
	free(framed);
	free(msg);
}

static int feed_hdr(struct drpc_rx *rx, struct drpc_hdr h)
{
	uint8_t raw[DRPC_HDR_SIZE], *out = NULL;
	size_t used, out_len;
	int rc;

	drpc_hdr_encode(&h, raw);
	rc = drpc_rx_feed(rx, raw, sizeof(raw), &used, &out, &out_len);
	free(out);
	return rc;
}

static void test_rejects_bad_headers(void **state)
{
	struct drpc_rx rx;
	uint8_t *framed, *msg = pattern(200000), *out = NULL;
	size_t flen, used, out_len;

	(void)state;
	drpc_rx_init(&rx);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 5, .chunk_size = 5, .chunks = 0}),
			 DRPC_RX_ZERO_CHUNKS);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 200000, .chunk_size = 131049,
							  .chunks = 2}),
			 DRPC_RX_CHUNK_TOO_BIG);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 5, .chunk_size = 6, .chunks = 1}),
			 DRPC_RX_OVERRUN);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 5, .chunk_size = 5, .idx = 1,
							  .chunks = 1}),
			 DRPC_RX_OUT_OF_ORDER);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 5, .chunk_size = 3, .chunks = 1}),
			 DRPC_RX_SIZE_MISMATCH);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 5, .chunk_size = 5, .chunks = 2}),
			 DRPC_RX_SIZE_MISMATCH);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 1ULL << 40, .chunk_size = 1,
							  .chunks = 8390266}),
			 DRPC_RX_TOO_LARGE);

	/* a second chunk that changes the totals, or skips an index */
	assert_int_equal(drpc_frame_encode(msg, 200000, &framed, &flen), 0);
	assert_int_equal(drpc_rx_feed(&rx, framed, DRPC_HDR_SIZE + DRPC_MAX_PAYLOAD, &used, &out,
				      &out_len), 0);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 200001, .chunk_size = 68952,
							  .idx = 1, .chunks = 2}),
			 DRPC_RX_CHANGED);
	assert_int_equal(drpc_rx_feed(&rx, framed, DRPC_HDR_SIZE + DRPC_MAX_PAYLOAD, &used, &out,
				      &out_len), 0);
	assert_int_equal(feed_hdr(&rx, (struct drpc_hdr){.total = 200000, .chunk_size = 68952,
							  .idx = 2, .chunks = 2}),
			 DRPC_RX_OUT_OF_ORDER);
	/* after an error the receiver starts clean: the whole message still decodes */
	assert_int_equal(drpc_rx_feed(&rx, framed, flen, &used, &out, &out_len), 1);
	assert_int_equal(out_len, 200000);
	assert_memory_equal(out, msg, 200000);
	free(out);
	free(framed);
	free(msg);
	drpc_rx_reset(&rx);
}

static void test_socket_send_recv(void **state)
{
	int sv[2];
	uint8_t *msg = pattern(150000), *out = NULL;
	size_t out_len = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* a child writes so that a 150 KB message cannot deadlock on the socket buffer */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(drpc_send_msg(sv[1], msg, 150000, 5000) == 0 ? 0 : 1);
	}
	close(sv[1]);
	assert_int_equal(drpc_recv_msg(sv[0], &out, &out_len, 5000), 0);
	assert_int_equal(out_len, 150000);
	assert_memory_equal(out, msg, 150000);
	free(out);
	/* peer gone: the next receive reports the reset, not a hang */
	assert_int_equal(drpc_recv_msg(sv[0], &out, &out_len, 5000), -ECONNRESET);
	close(sv[0]);
	free(msg);
}

static void test_recv_timeout(void **state)
{
	int sv[2];
	uint8_t *out = NULL;
	size_t out_len;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(drpc_recv_msg(sv[0], &out, &out_len, 20), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_chunk_count),
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_chunks_are_at_most_128k),
		cmocka_unit_test(test_rejects_bad_headers),
		cmocka_unit_test(test_socket_send_recv),
		cmocka_unit_test(test_recv_timeout),
	};

	return cmocka_run_group_tests_name("drpc_frame", tests, NULL, NULL);
}
