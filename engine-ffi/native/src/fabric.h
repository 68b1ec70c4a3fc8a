/*
 * The engine's fabric endpoint: a TCP listener at the configured address/port, reported as
 * "<provider>://IP:PORT". It answers a tiny ping protocol (all integers little-endian):
 *   request  16 bytes: "DAOSPING" nonce:u64
 *   response 32 bytes: "DAOSPONG" nonce:u64 rank:u32 instance:u32 incarnation:u64
 * Anything else closes the connection.
 */
#ifndef DSS_FABRIC_H
#define DSS_FABRIC_H

#include <stddef.h>
#include <stdint.h>

#include "dss_api.h"

#define DSS_PING_REQ_LEN  16
#define DSS_PING_RESP_LEN 32

struct dss_engine;

/**
 * Resolve the address (DAOS_FABRIC_ADDR, else D_INTERFACE's IPv4 address), the port (D_PORT,
 * default 0 = any) and the provider (D_PROVIDER, default ofi+tcp), bind and listen; fills
 * eng->fabric_fd/fabric_ip/fabric_port/uri. 0 or -errno with a message in err.
 */
int dss_fabric_listen(struct dss_engine *eng, char *err, size_t errlen);

/** Build the reply to a ping request; -EPROTO if req is not a ping. */
int dss_fabric_ping_reply(struct dss_engine *eng, const uint8_t req[DSS_PING_REQ_LEN],
			  uint8_t resp[DSS_PING_RESP_LEN]);

/**
 * Ping a fabric URI ("proto://IP:PORT") from this process, bounded by timeout_ms.
 * On success fills rank/incarnation (either may be NULL). 0 or -errno.
 */
DSS_API int dss_fabric_ping(const char *uri, int timeout_ms, uint32_t *rank,
			    uint64_t *incarnation);

#endif
