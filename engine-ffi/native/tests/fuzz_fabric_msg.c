/*
 * libFuzzer target for the fabric message decoders (crt_wire.h): arbitrary bytes go through
 * crt_hdr_decode; whatever it accepts must re-encode to the same header bytes and satisfy the
 * invariants the RPC layer relies on. The bytes after the first (whose value picks the RPC's
 * input/output size) go through the collective request and reply decoders, whose accepted
 * views must stay inside the input. The bytes are also parsed as a fabric URI.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crt_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crt_hdr h;
	const char *why = NULL;
	char uri[256];
	uint32_t ip;
	uint16_t port;

	if (crt_hdr_decode(data, size, &h, &why) == 0) {
		uint8_t again[CRT_HDR_LEN];
		uint8_t kind = h.flags & (CRT_FLAG_REQ | CRT_FLAG_REPLY);

		if (size != CRT_HDR_LEN + (size_t)h.payload_len || h.payload_len > CRT_MAX_PAYLOAD)
			abort();
		if (kind != CRT_FLAG_REQ && kind != CRT_FLAG_REPLY)
			abort();
		if (kind == CRT_FLAG_REQ && (h.status != 0 || h.reply_port == 0))
			abort();
		crt_hdr_encode(&h, again);
		if (memcmp(again, data, CRT_HDR_LEN) != 0)
			abort();
	} else if (why == NULL) {
		abort(); /* every rejection names its reason */
	}
	if (size > 0) {
		size_t io = data[0] % 64, len = size - 1;
		const uint8_t *p = data + 1, *end = data + size;
		struct crt_corpc_req rq;
		struct crt_corpc_reply rp;

		if (crt_corpc_req_decode(p, len, io, &rq) == 0) {
			if (rq.k < 1 || rq.k > CRT_CORPC_MAX_K || rq.nex > CRT_CORPC_MAX_EXCL ||
			    rq.in + io != end || rq.excluded + (size_t)rq.nex * 4 != rq.in)
				abort();
		}
		if (crt_corpc_reply_decode(p, len, io, &rp) == 0) {
			if (rp.have_out > 1 || rp.fail + (size_t)rp.nfail * 8 > end ||
			    (rp.have_out && rp.out + io != end))
				abort();
		}
	}
	if (size < sizeof(uri)) {
		memcpy(uri, data, size);
		uri[size] = '\0';
		if (crt_uri_parse(uri, &ip, &port) == 0 && port == 0)
			abort();
	}
	return 0;
}
