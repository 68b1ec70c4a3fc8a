/* dRPC chunk framing: encoder, incremental decoder and blocking helpers. */
#include "drpc_frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "byteorder.h"

void drpc_hdr_encode(const struct drpc_hdr *h, uint8_t out[DRPC_HDR_SIZE])
{
	put_le(out, h->total, 8);
	put_le(out + 8, h->chunk_size, 8);
	put_le(out + 16, h->idx, 4);
	put_le(out + 20, h->chunks, 4);
}

void drpc_hdr_decode(const uint8_t in[DRPC_HDR_SIZE], struct drpc_hdr *h)
{
	h->total = get_le(in, 8);
	h->chunk_size = get_le(in + 8, 8);
	h->idx = (uint32_t)get_le(in + 16, 4);
	h->chunks = (uint32_t)get_le(in + 20, 4);
}

uint32_t drpc_chunk_count(size_t len)
{
	if (len == 0)
		return 1;
	return (uint32_t)((len + DRPC_MAX_PAYLOAD - 1) / DRPC_MAX_PAYLOAD);
}

void drpc_rx_init(struct drpc_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

void drpc_rx_reset(struct drpc_rx *rx)
{
	free(rx->msg);
	drpc_rx_init(rx);
}

/* Validate a freshly read header against the message state; start the chunk. */
static int rx_start_chunk(struct drpc_rx *rx)
{
	struct drpc_hdr h;

	drpc_hdr_decode(rx->hdr, &h);
	if (h.chunks == 0)
		return DRPC_RX_ZERO_CHUNKS;
	if (h.chunk_size > DRPC_MAX_PAYLOAD)
		return DRPC_RX_CHUNK_TOO_BIG;
	if (rx->next_idx == 0) {
		if (h.total > DRPC_MAX_MSG_SIZE)
			return DRPC_RX_TOO_LARGE;
		if (h.chunks != drpc_chunk_count((size_t)h.total))
			return DRPC_RX_SIZE_MISMATCH;
		rx->total = h.total;
		rx->chunks = h.chunks;
		rx->have = 0;
		/* +1 so a 0-byte message still gets a non-NULL buffer */
		rx->msg = malloc((size_t)h.total + 1);
		if (rx->msg == NULL)
			return DRPC_RX_NOMEM;
	} else if (h.chunks != rx->chunks || h.total != rx->total) {
		return DRPC_RX_CHANGED;
	}
	if (h.idx != rx->next_idx)
		return DRPC_RX_OUT_OF_ORDER;
	if (h.chunk_size > rx->total - rx->have)
		return DRPC_RX_OVERRUN;
	/* every chunk but the last must be full, so the count and the size agree */
	if (h.idx + 1 < h.chunks && h.chunk_size != DRPC_MAX_PAYLOAD)
		return DRPC_RX_SIZE_MISMATCH;
	if (h.idx + 1 == h.chunks && rx->have + h.chunk_size != rx->total)
		return DRPC_RX_SIZE_MISMATCH;
	rx->chunk_left = h.chunk_size;
	rx->in_chunk = 1;
	return 0;
}

int drpc_rx_feed(struct drpc_rx *rx, const uint8_t *data, size_t len, size_t *used,
		 uint8_t **msg, size_t *msg_len)
{
	size_t off = 0;
	int rc;

	*used = 0;
	for (;;) {
		if (!rx->in_chunk) {
			size_t n = DRPC_HDR_SIZE - rx->hdr_have;

			if (n > len - off)
				n = len - off;
			memcpy(rx->hdr + rx->hdr_have, data + off, n);
			rx->hdr_have += n;
			off += n;
			if (rx->hdr_have < DRPC_HDR_SIZE) {
				*used = off;
				return 0;
			}
			rc = rx_start_chunk(rx);
			if (rc != 0) {
				*used = off;
				drpc_rx_reset(rx);
				return rc;
			}
		}
		if (rx->chunk_left > 0) {
			size_t n = (size_t)rx->chunk_left;

			if (n > len - off)
				n = len - off;
			memcpy(rx->msg + rx->have, data + off, n);
			rx->have += n;
			rx->chunk_left -= n;
			off += n;
		}
		if (rx->chunk_left > 0) {
			*used = off;
			return 0;
		}
		/* chunk complete */
		rx->in_chunk = 0;
		rx->hdr_have = 0;
		rx->next_idx++;
		if (rx->next_idx == rx->chunks) {
			*msg = rx->msg;
			*msg_len = (size_t)rx->total;
			rx->msg = NULL;
			drpc_rx_init(rx);
			*used = off;
			return 1;
		}
		if (off == len) {
			*used = off;
			return 0;
		}
	}
}

int drpc_frame_encode(const uint8_t *msg, size_t len, uint8_t **out, size_t *out_len)
{
	uint32_t chunks = drpc_chunk_count(len);
	size_t total = len + (size_t)chunks * DRPC_HDR_SIZE;
	uint8_t *buf, *p;
	size_t off = 0;

	if (len > DRPC_MAX_MSG_SIZE)
		return -EMSGSIZE;
	buf = malloc(total);
	if (buf == NULL)
		return -ENOMEM;
	p = buf;
	for (uint32_t i = 0; i < chunks; i++) {
		size_t n = len - off > DRPC_MAX_PAYLOAD ? DRPC_MAX_PAYLOAD : len - off;
		struct drpc_hdr h = {.total = len, .chunk_size = n, .idx = i, .chunks = chunks};

		drpc_hdr_encode(&h, p);
		p += DRPC_HDR_SIZE;
		if (n > 0)
			memcpy(p, msg + off, n);
		p += n;
		off += n;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int64_t left = deadline - now_ms();
	int rc;

	if (left <= 0)
		return -ETIMEDOUT;
	rc = poll(&pfd, 1, (int)left);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	return 0;
}

int drpc_write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(fd, POLLOUT, deadline);

			if (rc != 0)
				return rc;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

int drpc_send_msg(int fd, const uint8_t *msg, size_t len, int timeout_ms)
{
	uint8_t *buf;
	size_t blen;
	int rc = drpc_frame_encode(msg, len, &buf, &blen);

	if (rc != 0)
		return rc;
	rc = drpc_write_all(fd, buf, blen, timeout_ms);
	free(buf);
	return rc;
}

int drpc_recv_msg(int fd, uint8_t **msg, size_t *msg_len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct drpc_rx rx;
	uint8_t buf[8192];

	drpc_rx_init(&rx);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t off = 0;

		if (n == 0) {
			drpc_rx_reset(&rx);
			return -ECONNRESET;
		}
		if (n < 0) {
			int rc;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				rc = -errno;
				drpc_rx_reset(&rx);
				return rc;
			}
			rc = wait_fd(fd, POLLIN, deadline);
			if (rc != 0) {
				drpc_rx_reset(&rx);
				return rc;
			}
			continue;
		}
		while (off < (size_t)n) {
			size_t used;
			int rc = drpc_rx_feed(&rx, buf + off, (size_t)n - off, &used, msg, msg_len);

			off += used;
			if (rc < 0)
				return -EPROTO;
			/* one request/response per connection: trailing bytes are a protocol error */
			if (rc == 1) {
				if (off != (size_t)n) {
					free(*msg);
					return -EPROTO;
				}
				return 0;
			}
		}
	}
}

const char *drpc_rx_strerror(int rc)
{
	switch (rc) {
	case DRPC_RX_ZERO_CHUNKS: return "total_chunks is 0";
	case DRPC_RX_CHUNK_TOO_BIG: return "chunk payload larger than 131048 bytes";
	case DRPC_RX_OVERRUN: return "chunk payload overruns the message size";
	case DRPC_RX_CHANGED: return "total_chunks/total_data_size changed between chunks";
	case DRPC_RX_OUT_OF_ORDER: return "out-of-order chunk (possible lost/dropped chunk)";
	case DRPC_RX_SIZE_MISMATCH: return "chunk sizes do not add up to total_data_size";
	case DRPC_RX_TOO_LARGE: return "message larger than 64 MiB";
	case DRPC_RX_NOMEM: return "out of memory";
	default: return "unknown framing error";
	}
}
