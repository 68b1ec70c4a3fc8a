/*
 * IV: incast variables, as CaRT's crt_iv does for DAOS engines (pool maps, container
 * properties...). Transport-agnostic: one namespace per engine, messages go out through
 * ops->send and come in through iv_recv; completions are callbacks.
 *
 * Model:
 *  - Keys are (class id, key bytes); classes are registered by modules with three callbacks:
 *    fetch (the local source, asked on the root when its cache misses), update (the root
 *    applies an update or invalidation to the source; it may refuse) and refresh (every rank:
 *    its cached value changed through an update/invalidation pushed down the tree).
 *  - The ranks form a tree rooted at the IV leader: ops->parent_of(rank) (IV_RANK_NONE for the
 *    root) and ops->children_of(rank) come from the caller (the engine plugs its k-ary tree
 *    over the group map in).
 *  - Fetch: served from the local cache; on a miss it is forwarded to the parent, hop by hop,
 *    until a rank has it cached or the root asks the class's source. Every rank on the way
 *    back caches the value. Concurrent fetches of one key share one request upstream.
 *  - Update: forwarded up to the root with its version. The root accepts it only when the
 *    version is newer than the one it holds (else -ESTALE: a stale update is ignored), lets
 *    the class apply it, then pushes a REFRESH down the tree; every rank caches the value,
 *    calls the class's refresh and forwards to its children. A REFRESH whose version is not
 *    newer than the cached one is dropped (and not forwarded), so duplicates and reordered
 *    pushes are harmless.
 *  - Invalidate: like an update without a value: the root (and then every rank) drops cached
 *    values whose version is <= the given version; the next fetch goes to the source again.
 *  - A rank that restarts starts with an empty namespace: its fetches miss and go up again.
 *  - Every request has a deadline (the RPC timeout); iv_tick completes expired ones with
 *    -ETIMEDOUT, forwarding the error to the child that asked.
 *
 * Wiring into the engine (done by iv_engine.h over the RPC layer): iv_init with CRT_TIMEOUT
 * (ms), parent_of/children_of from the k-ary tree (DAOS_TREE_FANOUT) over the group map's live
 * ranks rooted at the IV leader, iv_recv for every IV message, iv_tick from the same xstream.
 * A message can be up to IV_MSG_MAX_SIZE bytes (64 KiB value + key + header): iv_engine.h
 * carries one message per RPC, so its values are bounded by IVE_VALUE_MAX instead.
 *
 * Thread-safety: none inside; serialise all calls on one namespace (one xstream). Callbacks run
 * synchronously inside iv_* calls and must not call back into the same namespace; ops->send
 * must only queue the bytes.
 */
#ifndef DSS_IV_H
#define DSS_IV_H

#include <stddef.h>
#include <stdint.h>

#define IV_RANK_NONE	  0xFFFFFFFFu
#define IV_KEY_MAX	  64u
#define IV_VALUE_MAX	  65536u
#define IV_MAX_CLASSES	  64u
#define IV_MAX_PENDING	  4096u
#define IV_MAX_WAITERS	  1024u
#define IV_MAX_CHILDREN	  256u

/* Wire format (little endian), strict: see iv_msg_decode. */
#define IV_MSG_MAGIC	  0x5649u /* "IV" on the wire */
#define IV_MSG_VERSION	  1u
#define IV_MSG_HDR_SIZE	  35u
#define IV_MSG_MAX_SIZE	  (IV_MSG_HDR_SIZE + IV_KEY_MAX + IV_VALUE_MAX)

enum iv_msg_type {
	IV_MSG_FETCH = 1,	 /* child → parent: req_id, key */
	IV_MSG_FETCH_REPLY = 2,	 /* parent → child: req_id, status, version, value */
	IV_MSG_UPDATE = 3,	 /* child → parent: req_id, version, value (or INVALIDATE) */
	IV_MSG_UPDATE_REPLY = 4, /* parent → child: req_id, status, version */
	IV_MSG_REFRESH = 5,	 /* parent → child: version, value (or INVALIDATE), req_id 0 */
};

/** Flag: an invalidation (UPDATE/REFRESH without a value). */
#define IV_F_INVALIDATE 0x01u

/** A decoded message; key and val point into the decoded buffer. */
struct iv_msg {
	uint8_t type;
	uint8_t flags;
	uint32_t class_id;
	uint64_t req_id;
	int32_t status;	 /* 0 or a negative errno, replies only */
	uint64_t version;
	uint16_t key_len;
	uint32_t val_len;
	const uint8_t *key;
	const uint8_t *val;
};

/** Encodes m. 0 and *len; -EINVAL when m breaks a rule of the decoder; -ENOSPC. */
int iv_msg_encode(const struct iv_msg *m, uint8_t *buf, size_t cap, size_t *len);

/**
 * Strict decoder: magic, version, type, flags allowed for the type, key length 1..IV_KEY_MAX,
 * value length <= IV_VALUE_MAX and exactly the bytes left, status 0 on requests and a
 * negative errno (> -4096) or 0 on replies, no value on error replies/fetches/invalidations,
 * versions >= 1 where a version is carried, req_id set exactly on the request/reply types.
 * 0 or -EINVAL. Decoding then encoding gives the same bytes.
 */
int iv_msg_decode(const uint8_t *buf, size_t len, struct iv_msg *m);

struct iv_ops {
	/** Sends an encoded message to dst (queue only). Non-zero: failed, the request fails. */
	int (*send)(void *arg, uint32_t dst, const uint8_t *buf, size_t len);
	/** The parent of rank in the IV tree, IV_RANK_NONE for the root. */
	uint32_t (*parent_of)(void *arg, uint32_t rank);
	/** Writes up to max children of rank into out; returns how many it has. */
	size_t (*children_of)(void *arg, uint32_t rank, uint32_t *out, size_t max);
};

struct iv_class_ops {
	/**
	 * Root only, on a cache miss: reads the local source. 0 and *val (owned by the class,
	 * valid until the call returns), *len and *version >= 1; or a negative errno
	 * (-ENOENT: no value) which goes back to the fetcher.
	 */
	int (*fetch)(void *arg, const uint8_t *key, size_t klen, const uint8_t **val,
		     size_t *len, uint64_t *version);
	/**
	 * Root only: applies an update (val/len) or an invalidation (invalidate = 1, val NULL)
	 * at version to the source. 0, or a negative errno that fails the update. Optional.
	 */
	int (*update)(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t len,
		      uint64_t version, int invalidate);
	/**
	 * Every rank (root included): the cached value changed through an update or an
	 * invalidation (val NULL) pushed down the tree. Optional.
	 */
	void (*refresh)(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t len,
			uint64_t version);
};

/** Fetch completion: rc 0 with the value (valid during the call), or a negative errno. */
typedef void (*iv_fetch_cb)(void *cb_arg, int rc, const uint8_t *val, size_t len,
			    uint64_t version);
/** Update/invalidate completion: rc 0, -ESTALE (older version), a class error, -ETIMEDOUT. */
typedef void (*iv_update_cb)(void *cb_arg, int rc, uint64_t version);

struct iv_stats {
	uint64_t cache_hits, cache_misses;
	uint64_t fetch_forwarded;  /* FETCHes sent to the parent */
	uint64_t source_fetches;   /* class fetch calls (root) */
	uint64_t refreshes;	   /* REFRESHes applied */
	uint64_t stale_dropped;	   /* REFRESHes or updates ignored as not newer */
	uint64_t timeouts;
	uint64_t bad_msgs;
};

struct iv_ns;

/**
 * Creates the namespace of rank self; timeout_ms bounds every request (use CRT_TIMEOUT).
 * 0 or -EINVAL/-ENOMEM.
 */
int iv_init(struct iv_ns **ns, uint32_t self, const struct iv_ops *ops, void *arg,
	    uint32_t timeout_ms);

/**
 * Starts the namespace's request ids after base (a new incarnation of a rank picks a base of
 * its own, so a late reply meant for its previous life cannot match one of its requests).
 * Call before the first request.
 */
void iv_set_req_id_base(struct iv_ns *ns, uint64_t base);

/** Frees the namespace; pending local callbacks are called with -ECANCELED. */
void iv_fini(struct iv_ns *ns);

/** Registers a class. 0, -EEXIST (id taken), -ENOSPC, -EINVAL. */
int iv_class_register(struct iv_ns *ns, uint32_t class_id, const struct iv_class_ops *ops,
		      void *arg);

/**
 * Fetches a value: a cache hit calls cb before returning; a miss goes to the parent (or the
 * source on the root). 0 when cb was or will be called; -EINVAL/-ENOENT (class)/-EBUSY.
 */
int iv_fetch(struct iv_ns *ns, uint32_t class_id, const uint8_t *key, size_t klen,
	     iv_fetch_cb cb, void *cb_arg, uint64_t now);

/** Updates a value at version (>= 1) through the root. Same return rules as iv_fetch. */
int iv_update(struct iv_ns *ns, uint32_t class_id, const uint8_t *key, size_t klen,
	      const uint8_t *val, size_t len, uint64_t version, iv_update_cb cb, void *cb_arg,
	      uint64_t now);

/** Invalidates cached values with version <= version, through the root. */
int iv_invalidate(struct iv_ns *ns, uint32_t class_id, const uint8_t *key, size_t klen,
		  uint64_t version, iv_update_cb cb, void *cb_arg, uint64_t now);

/** Handles one message from rank src. 0 or -EINVAL (bad bytes, unknown reply id). */
int iv_recv(struct iv_ns *ns, uint32_t src, const uint8_t *buf, size_t len, uint64_t now);

/** Expires requests past their deadline. Returns the next deadline (UINT64_MAX: none). */
uint64_t iv_tick(struct iv_ns *ns, uint64_t now);

/** Peeks at the local cache. 0 and the value (valid until the next call), or -ENOENT. */
int iv_cache_get(const struct iv_ns *ns, uint32_t class_id, const uint8_t *key, size_t klen,
		 const uint8_t **val, size_t *len, uint64_t *version);

/** Counters. */
void iv_stats_get(const struct iv_ns *ns, struct iv_stats *out);

#endif /* DSS_IV_H */
