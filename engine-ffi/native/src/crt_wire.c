/* Wire header encoding and its strict decoder (crt_wire.h). */
#include "crt_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"

void crt_hdr_encode(const struct crt_hdr *h, uint8_t out[CRT_HDR_LEN])
{
	put_le(out, CRT_WIRE_MAGIC, 4);
	out[4] = h->version;
	out[5] = h->flags;
	put_le(out + 6, h->tag, 2);
	put_le(out + 8, h->opc, 4);
	put_le(out + 12, h->rpc_id, 8);
	put_le(out + 20, h->src_rank, 4);
	put_le(out + 24, h->dst_rank, 4);
	put_le(out + 28, h->map_version, 4);
	put_le(out + 32, h->sys_id, 4);
	put_le(out + 36, (uint32_t)h->status, 4);
	put_le(out + 40, h->payload_len, 4);
	memcpy(out + 44, &h->reply_ip, 4); /* already network order */
	put_le(out + 48, h->reply_port, 2);
	put_le(out + 50, h->src_tag, 2);
}

int crt_hdr_decode(const uint8_t *msg, size_t len, struct crt_hdr *h, const char **why)
{
	const char *dummy;
	uint8_t kind;

	if (why == NULL)
		why = &dummy;
	if (len < CRT_HDR_LEN) {
		*why = "message shorter than the header";
		return -EBADMSG;
	}
	if (get_le(msg, 4) != CRT_WIRE_MAGIC) {
		*why = "bad magic";
		return -EPROTO;
	}
	h->version = msg[4];
	h->flags = msg[5];
	h->tag = (uint16_t)get_le(msg + 6, 2);
	h->opc = (uint32_t)get_le(msg + 8, 4);
	h->rpc_id = get_le(msg + 12, 8);
	h->src_rank = (uint32_t)get_le(msg + 20, 4);
	h->dst_rank = (uint32_t)get_le(msg + 24, 4);
	h->map_version = (uint32_t)get_le(msg + 28, 4);
	h->sys_id = (uint32_t)get_le(msg + 32, 4);
	h->status = (int32_t)(uint32_t)get_le(msg + 36, 4);
	h->payload_len = (uint32_t)get_le(msg + 40, 4);
	memcpy(&h->reply_ip, msg + 44, 4);
	h->reply_port = (uint16_t)get_le(msg + 48, 2);
	h->src_tag = (uint16_t)get_le(msg + 50, 2);
	if (h->version != CRT_WIRE_VERSION) {
		*why = "unsupported wire version";
		return -EPROTO;
	}
	if (h->flags & ~(CRT_FLAG_REQ | CRT_FLAG_REPLY | CRT_FLAG_COLL)) {
		*why = "unknown flag bits";
		return -EPROTO;
	}
	kind = h->flags & (CRT_FLAG_REQ | CRT_FLAG_REPLY);
	if (kind != CRT_FLAG_REQ && kind != CRT_FLAG_REPLY) {
		*why = "flags must name exactly one of request/reply";
		return -EPROTO;
	}
	if (h->payload_len > CRT_MAX_PAYLOAD) {
		*why = "payload length above the maximum";
		return -EMSGSIZE;
	}
	if ((size_t)h->payload_len != len - CRT_HDR_LEN) {
		*why = "payload length does not match the message size";
		return -EBADMSG;
	}
	if (h->rpc_id == 0) {
		*why = "rpc id 0";
		return -EPROTO;
	}
	if (kind == CRT_FLAG_REQ) {
		if (h->status != 0) {
			*why = "request with a nonzero status";
			return -EPROTO;
		}
		if (h->reply_port == 0 || h->reply_ip == 0) {
			*why = "request without a reply address";
			return -EPROTO;
		}
	} else if (h->status > 0) {
		*why = "reply with a positive status";
		return -EPROTO;
	}
	return 0;
}

int crt_uri_parse(const char *uri, uint32_t *ip, uint16_t *port)
{
	const char *hp, *colon;
	char host[INET_ADDRSTRLEN], *end;
	struct in_addr a;
	long p;

	if (uri == NULL)
		return -EINVAL;
	hp = strstr(uri, "://");
	if (hp == NULL || hp == uri)
		return -EINVAL;
	hp += 3;
	colon = strrchr(hp, ':');
	if (colon == NULL || colon == hp || (size_t)(colon - hp) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
	if (inet_pton(AF_INET, host, &a) != 1)
		return -EINVAL;
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return -EINVAL;
	*ip = a.s_addr;
	*port = (uint16_t)p;
	return 0;
}

uint32_t crt_sys_id(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; p && *p; p++)
		h = (h ^ *p) * 16777619u;
	return h == 0 ? 1 : h;
}

const char *crt_strerror(int status)
{
	switch (-status) {
	case 0: return "DER_SUCCESS";
	case DER_INVAL: return "DER_INVAL";
	case DER_NONEXIST: return "DER_NONEXIST";
	case DER_UNREACH: return "DER_UNREACH";
	case DER_NOMEM: return "DER_NOMEM";
	case DER_TIMEDOUT: return "DER_TIMEDOUT";
	case DER_PROTO: return "DER_PROTO";
	case DER_OVERFLOW: return "DER_OVERFLOW";
	case DER_CANCELED: return "DER_CANCELED";
	case DER_OOG: return "DER_OOG";
	case DER_UNREG: return "DER_UNREG";
	case DER_CORPC_INCOMPLETE: return "DER_CORPC_INCOMPLETE";
	case DER_MISMATCH: return "DER_MISMATCH";
	case DER_BAD_TARGET: return "DER_BAD_TARGET";
	case DER_GRPVER: return "DER_GRPVER";
	case DER_SHUTDOWN: return "DER_SHUTDOWN";
	default: return "DER_?";
	}
}

int crt_corpc_req_decode(const uint8_t *p, size_t len, size_t in_size, struct crt_corpc_req *r)
{
	uint32_t in_len;

	if (len < CRT_CORPC_HDR_LEN)
		return -EPROTO;
	r->root = (uint32_t)get_le(p, 4);
	r->k = (uint32_t)get_le(p + 4, 2);
	r->budget_ms = (uint32_t)get_le(p + 8, 4);
	r->nex = (uint32_t)get_le(p + 12, 4);
	in_len = (uint32_t)get_le(p + 16, 4);
	if (get_le(p + 6, 2) != 0 || r->k < 1 || r->k > CRT_CORPC_MAX_K || r->budget_ms < 1 ||
	    r->budget_ms > CRT_CORPC_MAX_BUDGET_MS || r->nex > CRT_CORPC_MAX_EXCL ||
	    in_len != in_size || len != CRT_CORPC_HDR_LEN + (size_t)r->nex * 4 + in_len)
		return -EPROTO;
	r->excluded = p + CRT_CORPC_HDR_LEN;
	r->in = r->excluded + (size_t)r->nex * 4;
	return 0;
}

int crt_corpc_reply_decode(const uint8_t *p, size_t len, size_t out_size,
			   struct crt_corpc_reply *r)
{
	if (len < 8)
		return -EPROTO;
	r->have_out = (uint32_t)get_le(p, 4);
	r->nfail = (uint32_t)get_le(p + 4, 4);
	if (r->have_out > 1 || r->nfail > CRT_MAX_PAYLOAD / 8 ||
	    len != 8 + (size_t)r->nfail * 8 + (r->have_out ? out_size : 0))
		return -EPROTO;
	r->fail = p + 8;
	r->out = r->have_out ? p + 8 + (size_t)r->nfail * 8 : NULL;
	return 0;
}
