/*
 * dRPC framing over a stream socket (spec/server.md §6.2): one protobuf message is sent as
 * chunks of at most 131072 bytes, each led by a 24-byte little-endian header
 * {u64 total_data_size, u64 chunk_data_size, u32 chunk_idx, u32 total_chunks}.
 */
#ifndef DSS_DRPC_FRAME_H
#define DSS_DRPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define DRPC_MAX_CHUNK     131072u
#define DRPC_HDR_SIZE      24u
#define DRPC_MAX_PAYLOAD   (DRPC_MAX_CHUNK - DRPC_HDR_SIZE)
/* Our cap on one logical message, so a hostile header cannot make us allocate gigabytes. */
#define DRPC_MAX_MSG_SIZE  (64u * 1024u * 1024u)

/** Receive-path errors (negative returns of drpc_rx_feed). */
enum drpc_rx_err {
	DRPC_RX_ZERO_CHUNKS   = -1, /* total_chunks == 0 */
	DRPC_RX_CHUNK_TOO_BIG = -2, /* chunk payload > 131048 */
	DRPC_RX_OVERRUN       = -3, /* payload overruns the remaining size */
	DRPC_RX_CHANGED       = -4, /* total_chunks/total_data_size changed between chunks */
	DRPC_RX_OUT_OF_ORDER  = -5, /* chunk index not the next one */
	DRPC_RX_SIZE_MISMATCH = -6, /* final size != total, or chunk count inconsistent */
	DRPC_RX_TOO_LARGE     = -7, /* total_data_size above DRPC_MAX_MSG_SIZE */
	DRPC_RX_NOMEM         = -8,
};

/** Incremental receiver: feed it bytes as they arrive; it yields whole messages. */
struct drpc_rx {
	uint8_t  hdr[DRPC_HDR_SIZE];
	size_t   hdr_have;     /* header bytes buffered for the current chunk */
	uint64_t total;        /* total_data_size from chunk 0 */
	uint32_t chunks;       /* total_chunks from chunk 0 */
	uint32_t next_idx;     /* index expected next */
	uint64_t chunk_left;   /* payload bytes left in the current chunk */
	uint64_t have;         /* message bytes received */
	uint8_t *msg;          /* message buffer (total bytes) */
	int      in_chunk;     /* header parsed, reading payload */
};

/** Parsed chunk header. */
struct drpc_hdr {
	uint64_t total;
	uint64_t chunk_size;
	uint32_t idx;
	uint32_t chunks;
};

void drpc_hdr_encode(const struct drpc_hdr *h, uint8_t out[DRPC_HDR_SIZE]);
void drpc_hdr_decode(const uint8_t in[DRPC_HDR_SIZE], struct drpc_hdr *h);

/** Number of chunks for a message of len bytes (a 0-byte message is sent as 1 empty chunk). */
uint32_t drpc_chunk_count(size_t len);

void drpc_rx_init(struct drpc_rx *rx);
/** Drop any partial message and free buffers. */
void drpc_rx_reset(struct drpc_rx *rx);

/**
 * Consume up to len bytes. Sets *used to the bytes consumed. Returns 1 when a whole message
 * is complete (then *msg and *msg_len own it: free() it; the receiver is ready for the next),
 * 0 when more bytes are needed (all len consumed), or a negative enum drpc_rx_err.
 */
int drpc_rx_feed(struct drpc_rx *rx, const uint8_t *data, size_t len, size_t *used,
		 uint8_t **msg, size_t *msg_len);

/**
 * Encode a message into its framed form (headers + payload) in one malloc'd buffer.
 * Returns 0 or -ENOMEM / -EMSGSIZE.
 */
int drpc_frame_encode(const uint8_t *msg, size_t len, uint8_t **out, size_t *out_len);

/** Write a whole buffer to fd, waiting (bounded by timeout_ms) when it would block. 0 or -errno. */
int drpc_write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms);

/** Send one message framed to fd. 0 or -errno. */
int drpc_send_msg(int fd, const uint8_t *msg, size_t len, int timeout_ms);

/** Receive one whole message from fd (blocking up to timeout_ms overall). 0 or -errno. */
int drpc_recv_msg(int fd, uint8_t **msg, size_t *msg_len, int timeout_ms);

/** Text for a drpc_rx_err. */
const char *drpc_rx_strerror(int rc);

#endif
