/*
 * A CaRT-like RPC layer between engines, on libfabric (fabric.h) with the wire format of
 * crt_wire.h.
 *
 * Transport: one libfabric RDM endpoint at the engine's URI "<scheme>://IP:PORT" (the group
 * map's address of the rank) and nctx contexts. A context is an execution queue with its own
 * progress thread (or progressed by its owner with crt_progress): requests addressed to tag i
 * run their handler on context i's thread, and an RPC's completion callback runs on the thread
 * of the context that sent it. Context 0 (the system context) also owns the endpoint's
 * completion queue: its thread reads it and routes each message to its context.
 *
 * Protocols: crt_proto_register(base opcode + version + table); opcode = CRT_PROTO_OPC(base,
 * version, index) as in CaRT. Input and output are fixed-size, fixed-layout structs (exact
 * length checked, then the format's in_check); an unknown opcode is answered -DER_UNREG, a
 * registered base with another version -DER_PROTO.
 *
 * Group: the ranks and URIs of the system map (crt_group_update, or pulled through the
 * group_refresh hook before each use). A request to a rank not in the map fails with -DER_OOG
 * at once; a request from a rank not in the receiver's map is answered -DER_OOG, one for
 * another rank -DER_BAD_TARGET, one from another system -DER_MISMATCH, and a collective built
 * on another map version -DER_GRPVER.
 *
 * Collectives: crt_corpc_create sends to every member (minus excluded ranks) over a k-ary tree
 * rooted at the sender (tree.h); each node forwards to its children, runs the handler and
 * folds its children's outputs with the format's aggregate. Each child gets 3/4 of its parent's
 * time budget, so a slow or dead child is reported by its parent (in crt_req_failures: the
 * child with its status, its subtree -DER_UNREACH) before the parent's own deadline.
 */
#ifndef DSS_CRT_H
#define DSS_CRT_H

#include <stddef.h>
#include <stdint.h>

#include "crt_wire.h"
#include "dss_api.h"
#include "fabric.h"

#define CRT_PROTO_OPC(base, version, index)                                                  \
	((uint32_t)(base) | (uint32_t)(version) << 16 | (uint32_t)(index))
#define CRT_PROTO_BASE_MASK 0xFF000000u
#define CRT_PROTO_VER(opc)  (((opc) >> 16) & 0xFFu)
#define CRT_PROTO_IDX(opc)  ((opc) & 0xFFFFu)
/* Base opcode of the layer's own protocol (ping). */
#define CRT_OPC_INTERNAL_BASE 0xFF000000u

#define CRT_MAX_PROTOS       32
#define CRT_MAX_CTX          640
#define CRT_CORPC_MAX_RANKS  900
#define CRT_DEFAULT_TIMEOUT_MS 5000

struct crt_transport;
struct crt_context;
struct crt_rpc;

/** What a handler learns about the request it serves. */
struct crt_req_info {
	struct crt_context *ctx;
	int ctx_idx;
	void *user;             /* the transport's user pointer (the engine) */
	uint32_t opc;
	uint32_t src_rank;      /* CRT_NIL_RANK for a client outside the group */
	uint32_t map_version;
	int collective;
};

/** Serve a request: read in (in_size bytes), fill out (out_size, zeroed). 0 or -DER_*. */
typedef int (*crt_handler_t)(const struct crt_req_info *ri, const void *in, void *out);
/** Fold a child's output into the accumulated one (collectives). */
typedef void (*crt_aggregate_t)(void *acc, const void *child_out);

/** One RPC of a protocol. */
struct crt_proto_rpc_format {
	const char *name;
	size_t in_size;
	size_t out_size;
	int (*in_check)(const void *in); /* optional strict field check after the length: 0/-1 */
	crt_handler_t handler;
	crt_aggregate_t aggregate;       /* required for collective use */
};

/** A protocol: base opcode (top 8 bits only), version (0..255), count RPCs. */
struct crt_proto_format {
	const char *name;
	uint32_t version;
	uint32_t count;
	const struct crt_proto_rpc_format *rpcs;
	uint32_t base;
};

/** One member of the group (from the system map). */
struct crt_member {
	uint32_t rank;
	char uri[128];
};

/** A failed member of a collective and why (-DER_*). */
struct crt_failure {
	uint32_t rank;
	int32_t status;
};

struct crt_transport_opts {
	struct fab_config fab;  /* provider, IP, port (0 = ephemeral) */
	int nctx;               /* contexts, 1..CRT_MAX_CTX */
	int threads;            /* 1: a progress thread per context; 0: crt_progress by the caller */
	const char *system;     /* system name (-g), NULL = none */
	void *user;
	/* optional: called before group use, may call crt_group_update (engine's map) */
	void (*group_refresh)(struct crt_transport *t, void *user);
};

/** Open the endpoint, create the contexts (and their threads). 0 or -errno + err. */
int crt_transport_create(const struct crt_transport_opts *o, struct crt_transport **out,
			 char *err, size_t errlen);
/** Stop and join the threads, fail what is in flight (-DER_CANCELED), close. */
void crt_transport_destroy(struct crt_transport *t);
/** "<scheme>://IP:PORT" of the endpoint. */
const char *crt_transport_uri(const struct crt_transport *t);
DSS_API struct crt_context *crt_context_get(struct crt_transport *t, int idx);
int crt_context_idx(const struct crt_context *ctx);
/** One progress round for a context without its own thread: up to timeout_ms. */
int crt_progress(struct crt_context *ctx, int timeout_ms);

/** Register a protocol. 0, -EINVAL (bad format, message logged), -EEXIST, -ENOSPC. */
int crt_proto_register(struct crt_transport *t, const struct crt_proto_format *pf);

/**
 * Install the group: this engine's rank (CRT_NIL_RANK if none), the map version and the
 * members. Older or equal versions are ignored (1), unless self changed. 0, 1 or -errno.
 */
int crt_group_update(struct crt_transport *t, uint32_t self, uint32_t version,
		     const struct crt_member *m, size_t n);
/** Current map version and self rank (after the group_refresh hook). */
void crt_group_info(struct crt_transport *t, uint32_t *self, uint32_t *version);
/**
 * Current self rank, map version and the members' ranks, sorted (after the group_refresh
 * hook): up to cap into ranks; returns the member count (which may exceed cap).
 */
DSS_API size_t crt_group_ranks(struct crt_transport *t, uint32_t *self, uint32_t *version,
		       uint32_t *ranks, size_t cap);
/** The same without calling the hook (for the hook itself); returns the member count. */
size_t crt_group_info_raw(struct crt_transport *t, uint32_t *self, uint32_t *version);

/** Completion: status 0 or -DER_*; output and failures readable until the rpc is released. */
typedef void (*crt_cb_t)(struct crt_rpc *rpc, int status, void *arg);

/** A request to rank's context tag (rank looked up in the group at send). One reference. */
DSS_API int crt_req_create(struct crt_context *ctx, uint32_t rank, uint16_t tag, uint32_t opc,
		   struct crt_rpc **out);
/** A request to an address outside the group ("<scheme>://IP:PORT"). */
int crt_req_create_uri(struct crt_context *ctx, const char *uri, uint16_t tag, uint32_t opc,
		       struct crt_rpc **out);
/** A collective to every member but the excluded ones, tree fan-out k. */
DSS_API int crt_corpc_create(struct crt_context *ctx, uint32_t opc, const uint32_t *excluded,
		     size_t nex, unsigned k, struct crt_rpc **out);
DSS_API void *crt_req_input(struct crt_rpc *rpc);
DSS_API const void *crt_req_output(const struct crt_rpc *rpc);
/** Failures of a collective (count; *f valid while the rpc is held). */
DSS_API size_t crt_req_failures(const struct crt_rpc *rpc, const struct crt_failure **f);
uint32_t crt_req_rank(const struct crt_rpc *rpc);
DSS_API void crt_req_set_timeout(struct crt_rpc *rpc, int timeout_ms);
/**
 * Send; cb runs exactly once on the context's thread (also for errors found at send, such as
 * -DER_OOG). 0, or -EINVAL/-EALREADY (not sent, no callback).
 */
int crt_req_send(struct crt_rpc *rpc, crt_cb_t cb, void *arg);
/**
 * Cancel a point-to-point RPC in flight: its callback gets -DER_CANCELED. 0, -EALREADY (done or
 * never sent) or -EOPNOTSUPP (a collective: bounded by its children's timeouts instead).
 */
int crt_req_abort(struct crt_rpc *rpc);
/**
 * Send and wait for the completion (not from the context's own thread). Returns the status;
 * -EDEADLK when called on the context's thread.
 */
DSS_API int crt_req_send_sync(struct crt_rpc *rpc);
void crt_req_addref(struct crt_rpc *rpc);
DSS_API void crt_req_decref(struct crt_rpc *rpc);

#endif
