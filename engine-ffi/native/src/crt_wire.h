/*
 * Wire format of the engine-to-engine RPC layer (crt.h): a fixed 52-byte header followed by
 * the payload, all integers little-endian. The decoder is strict: every field is checked, a
 * message that is not exactly header + payload_len bytes is rejected (fuzzed by
 * tests/fuzz_fabric_msg.c).
 *
 *   off size field
 *     0    4 magic "CRT1" (0x31545243 as u32 LE)
 *     4    1 version (CRT_WIRE_VERSION)
 *     5    1 flags: exactly one of REQ/REPLY, plus COLL for collective requests/replies
 *     6    2 tag: destination context
 *     8    4 opcode (base | version << 16 | index, as CaRT's CRT_PROTO_OPC)
 *    12    8 rpc id (chosen by the requester, echoed in the reply)
 *    20    4 source rank (0xFFFFFFFF: a client outside the group)
 *    24    4 destination rank (0xFFFFFFFF: whoever listens at the address)
 *    28    4 map version of the sender's group
 *    32    4 system id (FNV-1a of the system name; 0 = unspecified)
 *    36    4 status (0 in requests; 0 or -DER_* in replies)
 *    40    4 payload length
 *    44    4 reply IPv4 address (network byte order)
 *    48    2 reply port
 *    50    2 source tag: the requester's context, where the reply goes
 */
#ifndef DSS_CRT_WIRE_H
#define DSS_CRT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define CRT_WIRE_MAGIC   0x31545243u
#define CRT_WIRE_VERSION 1
#define CRT_HDR_LEN      52
/* Whole message bound: below ofi_rxm's eager buffer, so no rendezvous is needed. */
#define CRT_MAX_MSG      8192
#define CRT_MAX_PAYLOAD  (CRT_MAX_MSG - CRT_HDR_LEN)

#define CRT_FLAG_REQ   0x1
#define CRT_FLAG_REPLY 0x2
#define CRT_FLAG_COLL  0x4

#define CRT_NIL_RANK 0xFFFFFFFFu

/* DAOS error numbers (gurt), carried negated in status fields. */
#define DER_INVAL            1003
#define DER_NONEXIST         1005
#define DER_UNREACH          1006
#define DER_NOMEM            1009
#define DER_TIMEDOUT         1011
#define DER_PROTO            1014
#define DER_OVERFLOW         1017
#define DER_CANCELED         1018
#define DER_OOG              1019
#define DER_UNREG            1021
#define DER_CORPC_INCOMPLETE 1028
#define DER_MISMATCH         1031
#define DER_BAD_TARGET       1035
#define DER_GRPVER           1036
#define DER_SHUTDOWN         2017

struct crt_hdr {
	uint8_t version;
	uint8_t flags;
	uint16_t tag;
	uint32_t opc;
	uint64_t rpc_id;
	uint32_t src_rank;
	uint32_t dst_rank;
	uint32_t map_version;
	uint32_t sys_id;
	int32_t status;
	uint32_t payload_len;
	uint32_t reply_ip; /* network byte order */
	uint16_t reply_port;
	uint16_t src_tag;
};

/*
 * Collective payloads (after the header, flag COLL):
 *   request: root u32, k u16, flags u16 (0), budget_ms u32, nex u32, in_len u32,
 *            nex x excluded rank u32, in_len bytes of input
 *   reply:   have_out u32 (0/1), nfail u32, nfail x (rank u32, status i32), out (if have_out)
 */
#define CRT_CORPC_HDR_LEN   20
#define CRT_CORPC_MAX_K     64
#define CRT_CORPC_MAX_EXCL  900
#define CRT_CORPC_MAX_BUDGET_MS 3600000u

struct crt_corpc_req {
	uint32_t root;
	uint32_t k;
	uint32_t budget_ms;
	uint32_t nex;
	const uint8_t *excluded; /* nex little-endian u32 */
	const uint8_t *in;       /* in_size bytes */
};

struct crt_corpc_reply {
	uint32_t have_out;
	uint32_t nfail;
	const uint8_t *fail;     /* nfail x (rank u32, status i32) little-endian */
	const uint8_t *out;      /* out_size bytes when have_out */
};

/** Decode a collective request payload whose input must be in_size bytes. 0 or -EPROTO. */
int crt_corpc_req_decode(const uint8_t *p, size_t len, size_t in_size, struct crt_corpc_req *r);

/** Decode a collective reply payload whose output is out_size bytes. 0 or -EPROTO. */
int crt_corpc_reply_decode(const uint8_t *p, size_t len, size_t out_size,
			   struct crt_corpc_reply *r);

/** Encode h into out[CRT_HDR_LEN]. */
void crt_hdr_encode(const struct crt_hdr *h, uint8_t out[CRT_HDR_LEN]);

/**
 * Decode and check a whole message (header + payload). 0, or -EPROTO/-EMSGSIZE/-EBADMSG
 * with *why naming the bad field (a static string).
 */
int crt_hdr_decode(const uint8_t *msg, size_t len, struct crt_hdr *h, const char **why);

/**
 * Parse "<scheme>://A.B.C.D:PORT" (port 1..65535). ip in network byte order. 0 or -EINVAL.
 */
int crt_uri_parse(const char *uri, uint32_t *ip, uint16_t *port);

/** FNV-1a 32-bit of a system name, never 0 (0 means "unspecified" on the wire). */
uint32_t crt_sys_id(const char *name);

/** Short name of a -DER_* status for messages ("DER_TIMEDOUT"), or "DER_?". */
const char *crt_strerror(int status);

#endif
