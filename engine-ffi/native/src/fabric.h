/*
 * The engine's fabric endpoint on libfabric: provider selection from D_PROVIDER (ofi+tcp →
 * "tcp;ofi_rxm" RDM, ofi+sockets → "sockets"), address resolution (DAOS_FABRIC_ADDR, else
 * D_INTERFACE's IPv4 address; D_PORT, default 0 = any), one RDM endpoint bound to that
 * address with an FI_AV_TABLE address vector (peers inserted from their URIs on first use) and
 * a completion queue. Messages are whole datagrams of at most CRT_MAX_MSG bytes.
 *
 * Threads: fab_send may be called from any thread; fab_progress is called by one owning
 * thread (the system context's), which reads the completion queue and hands each received
 * message to the recv callback.
 */
#ifndef DSS_FABRIC_H
#define DSS_FABRIC_H

#include <stddef.h>
#include <stdint.h>

struct fab_ep;

/** A received message (valid during the call only). */
typedef void (*fab_recv_fn)(void *arg, const uint8_t *msg, size_t len);
/** A send that failed after fab_send accepted it (peer unreachable...); rc is -errno. */
typedef void (*fab_send_err_fn)(void *arg, uint64_t cookie, int rc);

/** Where and how the engine's endpoint listens, from the environment. */
struct fab_config {
	char provider[32]; /* libfabric provider name, e.g. "tcp;ofi_rxm" */
	char scheme[32];   /* URI scheme, e.g. "ofi+tcp" */
	char ip[64];
	int port;          /* 0 = any */
};

/**
 * Map a DAOS provider string to libfabric's provider and the URI scheme. 0 or -EPROTONOSUPPORT
 * with a message naming the input and the supported values.
 */
int fab_provider_map(const char *d_provider, struct fab_config *cfg, char *err, size_t errlen);

/** Fill cfg from D_PROVIDER, DAOS_FABRIC_ADDR/D_INTERFACE and D_PORT. 0 or -errno + err. */
int fab_config_from_env(struct fab_config *cfg, char *err, size_t errlen);

/** Open the endpoint at cfg (port 0 = ephemeral). 0 or -errno with a message in err. */
int fab_open(const struct fab_config *cfg, fab_recv_fn recv, fab_send_err_fn send_err,
	     void *arg, struct fab_ep **out, char *err, size_t errlen);

/** Bound address: ip (network order) and port. */
void fab_addr(const struct fab_ep *ep, uint32_t *ip, uint16_t *port);

/**
 * Send a copy of msg to ip:port (ip network order). cookie comes back through send_err if the
 * send fails later. 0, -EAGAIN (queue full for too long), -ENOSPC (too many peers) or -errno.
 */
int fab_send(struct fab_ep *ep, uint32_t ip, uint16_t port, const uint8_t *msg, size_t len,
	     uint64_t cookie);

/**
 * Drop the send with this cookie if it still waits for the provider to take it (ofi_rxm has
 * no connection to the peer: refused, or the peer does not progress), and say so (1); 0 when
 * it already left.
 */
int fab_send_withdraw(struct fab_ep *ep, uint64_t cookie);

/**
 * Read the completion queue, delivering received messages; when nothing is there, wait up
 * to timeout_ms for the queue or for wake_fd (-1 = none) to become readable. Returns the
 * number of completions handled or -errno.
 */
int fab_progress(struct fab_ep *ep, int timeout_ms, int wake_fd);

/** Interrupt a fab_progress blocked in the provider (those without a wait fd). */
void fab_wake(struct fab_ep *ep);

/** Close the endpoint (no progress call may run concurrently). */
void fab_close(struct fab_ep *ep);

/** Source IPv4 (network order) this host uses to reach ip (via a UDP connect). 0 or -errno. */
int fab_route_src(uint32_t ip, uint32_t *src);

#endif
