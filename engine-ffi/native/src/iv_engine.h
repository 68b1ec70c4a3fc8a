/*
 * IV over the RPC layer: the transport-agnostic IV state machine (iv.h) wired onto a crt
 * transport (crt.h), as CaRT's crt_iv is for DAOS engines.
 *
 *  - Protocol: base opcode IVE_OPC_BASE, an RPC carrying one encoded IV message
 *    (iv_msg_encode) plus the sender's incarnation, in two sizes (the layer's inputs are fixed
 *    size: "iv_msg_small" for most messages, "iv_msg" for large values); its reply is a bare
 *    acknowledgement. IV's
 *    own replies (FETCH_REPLY, UPDATE_REPLY) and pushes (REFRESH) are iv_msg RPCs the other
 *    way, so a namespace never blocks a context thread waiting for another rank.
 *  - Tree: the k-ary tree of src/tree.c over the transport's group (the system map) rooted at
 *    the IV leader (a fixed rank, or IVE_LEADER_LOWEST: the lowest rank of the map, which every
 *    engine computes alike). The tree follows map changes at each use.
 *  - The namespace of a rank is created when the transport knows its rank (SetRank) and made
 *    anew when that rank changes; request ids start at incarnation << 32 so a late reply meant
 *    for a previous life of the rank cannot match a request of the new one.
 *  - Errors, never hangs: every request is bounded by the namespace timeout (a ticker thread
 *    runs iv_tick); a request the transport could not deliver (dead parent: -DER_UNREACH,
 *    rank out of the map: -DER_OOG) completes at once with -EHOSTUNREACH, the RPC timeout with
 *    -ETIMEDOUT.
 *  - Size: one IV message must fit one RPC, so keys are up to IV_KEY_MAX bytes and values up to
 *    IVE_VALUE_MAX bytes (the IV state machine itself allows 64 KiB); larger updates are
 *    refused with -EMSGSIZE.
 *
 * Threading: IV messages are served on context 0's progress thread. The blocking calls
 * (ive_fetch/update/invalidate) must not run on that thread (-EDEADLK from an IV callback;
 * a module RPC handler on context 0 must not call them either). Class callbacks run with the
 * namespace lock held and must not call back into the namespace.
 */
#ifndef DSS_IV_ENGINE_H
#define DSS_IV_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "crt.h"
#include "dss_api.h"
#include "iv.h"

/** Opcode base of the IV protocol (CaRT keeps IV inside its internal range; ours is next). */
#define IVE_OPC_BASE	  0xFD000000u
#define IVE_OPC_MSG	  CRT_PROTO_OPC(IVE_OPC_BASE, 1, 0) /* up to IVE_WIRE_MAX bytes */
#define IVE_OPC_MSG_SMALL CRT_PROTO_OPC(IVE_OPC_BASE, 1, 1) /* up to IVE_WIRE_SMALL bytes */
/* Wire input: incarnation u64, length u32, pad u32, then the IV message. */
#define IVE_WIRE_HDR	  16u
#define IVE_WIRE_MAX	  ((CRT_MAX_PAYLOAD - IVE_WIRE_HDR) & ~7u)
#define IVE_WIRE_SMALL	  496u
#define IVE_VALUE_MAX	  (IVE_WIRE_MAX - IV_MSG_HDR_SIZE - IV_KEY_MAX)
#define IVE_LEADER_LOWEST 0xFFFFFFFEu
#define IVE_MAX_RANKS	  CRT_CORPC_MAX_RANKS

struct ive;
struct dss_engine;

struct ive_opts {
	struct crt_transport *t; /* context 0 serves the IV messages */
	uint32_t leader;	 /* the IV root: a rank, or IVE_LEADER_LOWEST */
	unsigned fanout;	 /* tree fan-out, 1..CRT_TREE_MAX_K (DAOS_TREE_FANOUT) */
	uint32_t timeout_ms;	 /* bound of every request (CRT_TIMEOUT) */
	uint64_t incarnation;	 /* this process's incarnation (request id base) */
};

/**
 * Attaches an IV namespace to a transport (one per transport) and registers the IV protocol
 * on it. 0, -EINVAL (bad options), -EEXIST (the transport has one), -ENOMEM.
 */
int ive_create(const struct ive_opts *o, struct ive **out);

/** Stops the ticker, fails the local waiters (-ECANCELED) and detaches. Before the transport. */
void ive_destroy(struct ive *ive);

/** Registers a class (kept across namespace re-creations). 0, -EEXIST, -ENOSPC, -EINVAL. */
int ive_class_register(struct ive *ive, uint32_t class_id, const struct iv_class_ops *ops,
		       void *arg);

/**
 * Fetches a value: from the local cache, else through the parent up to the root. Copies up to
 * cap bytes into buf; *len is the value's full length (-ENOBUFS when it exceeds cap).
 * 0, or a negative errno: -ENOENT (no such value/class), -EHOSTUNREACH, -ETIMEDOUT,
 * -EAGAIN (the transport has no rank yet), -ENOTCONN (this rank or the IV leader is not in
 * the map), -EDEADLK.
 */
int ive_fetch(struct ive *ive, uint32_t class_id, const void *key, size_t klen, void *buf,
	      size_t cap, size_t *len, uint64_t *version);

/** Updates a value at version through the root, which pushes it to every rank. */
int ive_update(struct ive *ive, uint32_t class_id, const void *key, size_t klen,
	       const void *val, size_t len, uint64_t version);

/** Invalidates cached values with version <= version, through the root. */
int ive_invalidate(struct ive *ive, uint32_t class_id, const void *key, size_t klen,
		   uint64_t version);

/** Copies the locally cached value (no network). 0, -ENOENT, -ENOBUFS, -EAGAIN. */
int ive_cache_get(struct ive *ive, uint32_t class_id, const void *key, size_t klen,
		  void *buf, size_t cap, size_t *len, uint64_t *version);

/** The namespace's counters (zero before the rank is known). */
void ive_stats(struct ive *ive, struct iv_stats *out);

/** The current root of the IV tree (IV_RANK_NONE: empty map). */
uint32_t ive_leader(struct ive *ive);

/* ---- the engine's namespace (created by dss_crt_start, rooted at the lowest rank) ---- */

/** Registers an IV class on the engine's namespace; modules call it from their setup. */
DSS_API int dss_iv_class_register(struct dss_engine *eng, uint32_t class_id,
				  const struct iv_class_ops *ops, void *arg);
/** ive_fetch on the engine's namespace (-EAGAIN before the transport is up). */
DSS_API int dss_iv_fetch(struct dss_engine *eng, uint32_t class_id, const void *key,
			 size_t klen, void *buf, size_t cap, size_t *len, uint64_t *version);
/** ive_update on the engine's namespace. */
DSS_API int dss_iv_update(struct dss_engine *eng, uint32_t class_id, const void *key,
			  size_t klen, const void *val, size_t len, uint64_t version);
/** ive_invalidate on the engine's namespace. */
DSS_API int dss_iv_invalidate(struct dss_engine *eng, uint32_t class_id, const void *key,
			      size_t klen, uint64_t version);

#endif /* DSS_IV_ENGINE_H */
