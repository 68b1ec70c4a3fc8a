/*
 * SWIM failure detector (Das, Gupta, Motivala 2002), as CaRT's swim does for DAOS engines:
 * a transport-agnostic state machine, one context per engine.
 *
 * Protocol, per context:
 *  - Every protocol period (SWIM_PROTOCOL_PERIOD_LEN) the context probes one member, chosen in
 *    randomised round-robin order among the members it does not hold DEAD: a PING, answered
 *    by an ACK. No ACK within the ping timeout → PING_REQ to k other ALIVE members (the
 *    subgroup), each of which pings the target on the requester's behalf and relays the ACK.
 *    No ACK within a second ping timeout → the target is SUSPECT (this context decided it).
 *  - A suspicion this context decided turns into DEAD when it is not refuted within the
 *    suspicion timeout; ops->member_dead is then called with SWIM_DEAD_SUSPECT_TIMEOUT. A
 *    suspicion learned from another member gets one extra period + ping timeout of grace so
 *    the deciding member's DEAD usually arrives first (then the reason is SWIM_DEAD_GOSSIP and
 *    only the decider reports the death to the control plane).
 *  - Incarnations: a member that hears it is SUSPECT or DEAD at its current (or a newer)
 *    incarnation bumps its incarnation and spreads "ALIVE at the new incarnation", which
 *    overrides the suspicion everywhere (refutation). A restarted member rejoins the same way:
 *    its higher incarnation revives it (ops->member_alive).
 *  - Dissemination: every message carries the sender's own state, the receiver's state as
 *    the sender sees it (so a suspected member learns of it on the next message it gets), the
 *    probed member's state on PING_REQ/relayed PING, and up to SWIM_PIGGYBACK_MAX recent
 *    updates, each piggy-backed a bounded number of times (about 4 log2 n) from a bounded list.
 *  - Members held DEAD are still pinged now and then (one every SWIM_DEAD_PROBE_PERIODS
 *    periods), so a member that was wrongly cut off (partition) learns it was declared dead,
 *    bumps its incarnation and comes back once the network heals.
 *  - A context that has heard from nobody for a whole suspicion timeout still declares the
 *    members it suspected dead (locally it cannot tell "I am cut off" from "they all died"),
 *    but with SWIM_DEAD_ISOLATED, so the engine can keep an isolated rank from reporting
 *    the healthy ones.
 *  - A late tick (the context's own thread stalled, e.g. SIGSTOP/SIGCONT or CPU starvation)
 *    shifts every pending deadline by the lateness, so the stalled member does not declare
 *    everybody else dead when it wakes up (DAOS's "network glitch" handling).
 *
 * Membership comes from the group map: swim_member_add/del as the map changes.
 *
 * Wiring into the engine (the lead's part; nothing here depends on the transport):
 *  - tunables: dss_tunables_from_env at engine start (a bad value is a start error);
 *  - swim_init(rank, the engine's incarnation) once the rank is known, then swim_member_add
 *    for every rank of each GroupUpdate map (with the map's incarnation) and
 *    swim_member_del for ranks that left it;
 *  - one xstream calls swim_tick at least every ping timeout / 4 (or at the returned time)
 *    and swim_recv for every SWIM message; ops->send wraps the bytes in the RPC layer;
 *  - member_dead with SWIM_DEAD_SUSPECT_TIMEOUT → RAS event swim_rank_dead (rank,
 *    incarnation) through daos_server.sock; SWIM_DEAD_GOSSIP → nothing (the decider
 *    reports; the MS leader debounces rank:incarnation anyway); SWIM_DEAD_ISOLATED → log
 *    only; member_alive → RAS swim_rank_alive if wanted.
 *
 * Thread-safety: none inside. Every call on one context (tick, recv, member_*) must be
 * serialised by the caller; the engine drives a context from one xstream. Callbacks run
 * synchronously inside swim_tick/swim_recv/swim_member_*, must not call back into the same
 * context, and ops->send must only queue the bytes (it must not deliver them re-entrantly).
 * Contexts are independent: many may live in one process (the tests run whole clusters).
 */
#ifndef DSS_SWIM_H
#define DSS_SWIM_H

#include <stddef.h>
#include <stdint.h>

#include "tunables.h"

#define SWIM_RANK_NONE		0xFFFFFFFFu
#define SWIM_MAX_MEMBERS	65536u
/** Recent updates kept for dissemination (the oldest/most sent are dropped first). */
#define SWIM_UPDATES_MAX	64u
/** Updates piggy-backed on one message besides the sender/receiver/target entries. */
#define SWIM_PIGGYBACK_MAX	8u
/** Update entries a message may carry (decoder limit). */
#define SWIM_MSG_MAX_UPDATES	16u
/** A DEAD member is pinged once every this many periods. */
#define SWIM_DEAD_PROBE_PERIODS 5u
/** Largest subgroup (k) for indirect pings. */
#define SWIM_SUBGROUP_MAX	8u

/* Wire format (little endian), strict: see swim_msg_decode. */
#define SWIM_MSG_MAGIC	      0x5753u /* "SW" on the wire */
#define SWIM_MSG_VERSION      1u
#define SWIM_MSG_HDR_SIZE     21u
#define SWIM_MSG_UPDATE_SIZE  13u
#define SWIM_MSG_MAX_SIZE     (SWIM_MSG_HDR_SIZE + SWIM_MSG_MAX_UPDATES * SWIM_MSG_UPDATE_SIZE)

enum swim_state { SWIM_ALIVE = 0, SWIM_SUSPECT = 1, SWIM_DEAD = 2 };

enum swim_msg_type { SWIM_MSG_PING = 1, SWIM_MSG_ACK = 2, SWIM_MSG_PING_REQ = 3 };

/** Why ops->member_dead was called. */
enum swim_dead_reason {
	/** This context suspected the member and nobody refuted within the suspicion timeout. */
	SWIM_DEAD_SUSPECT_TIMEOUT = 1,
	/** Another member declared it dead and this context learned it by dissemination. */
	SWIM_DEAD_GOSSIP = 2,
	/**
	 * As SWIM_DEAD_SUSPECT_TIMEOUT, but this context had heard from no member at all for a
	 * whole suspicion timeout: it is probably the one cut off (partition), or every other
	 * member died. The engine should not report such a death as a fact (an isolated engine
	 * would otherwise get every healthy rank excluded).
	 */
	SWIM_DEAD_ISOLATED = 3,
};

struct swim_update {
	uint32_t rank;
	uint8_t state; /* enum swim_state */
	uint64_t incarnation;
};

/**
 * One protocol message.
 *  PING:     seq, target = the receiver, origin = the requester (the sender, or the member
 *            that asked the sender to ping indirectly).
 *  ACK:      the PING's seq/target/origin echoed; the receiver relays it to origin when it is
 *            not origin itself.
 *  PING_REQ: seq, target = member to ping, origin = the sender.
 */
struct swim_msg {
	uint8_t type;
	uint64_t seq;
	uint32_t target;
	uint32_t origin;
	uint32_t nupdates;
	struct swim_update updates[SWIM_MSG_MAX_UPDATES];
};

/**
 * Encodes m into buf (cap bytes). 0 and *len, -EINVAL for an invalid message (bad type or
 * state, too many updates, NONE rank), -ENOSPC if cap is too small.
 */
int swim_msg_encode(const struct swim_msg *m, uint8_t *buf, size_t cap, size_t *len);

/**
 * Strict decoder: magic, version, type, update count and the exact length must match, every
 * state must be known, no rank may be SWIM_RANK_NONE, no rank may appear twice among the
 * updates. 0 or -EINVAL (m is then unspecified). Decoding then encoding gives the same bytes.
 */
int swim_msg_decode(const uint8_t *buf, size_t len, struct swim_msg *m);

struct swim_ops {
	/** Sends an encoded message to dst (queue only). A non-zero return counts as a loss. */
	int (*send)(void *arg, uint32_t dst, const uint8_t *buf, size_t len);
	/** A member became DEAD in this context's view (required). */
	void (*member_dead)(void *arg, uint32_t rank, uint64_t incarnation,
			    enum swim_dead_reason reason);
	/** A DEAD member came back with a higher incarnation (optional). */
	void (*member_alive)(void *arg, uint32_t rank, uint64_t incarnation);
	/** A member became SUSPECT; from = who suspected it (optional). */
	void (*member_suspect)(void *arg, uint32_t rank, uint64_t incarnation, uint32_t from);
	/** This context bumped its own incarnation to refute a suspicion (optional). */
	void (*self_incarnation)(void *arg, uint64_t incarnation);
	/** Random numbers for the probe order and subgroups (optional: internal xorshift). */
	uint64_t (*rand)(void *arg);
};

/** Counters, for tests and the engine log. */
struct swim_stats {
	uint64_t pings_sent;	 /* direct PINGs this context sent as prober */
	uint64_t ping_reqs_sent; /* PING_REQs sent */
	uint64_t acks_received;	 /* probes answered (directly or relayed) */
	uint64_t indirect_saves; /* probes answered only through the subgroup */
	uint64_t relays;	 /* PINGs sent for another member's PING_REQ */
	uint64_t suspects;	 /* members this context suspected itself */
	uint64_t deaths_decided; /* SWIM_DEAD_SUSPECT_TIMEOUT/ISOLATED callbacks */
	uint64_t refutes;	 /* own incarnation bumps */
	uint64_t glitches;	 /* late ticks compensated */
	uint64_t bad_msgs;	 /* messages rejected by the decoder or from non-members */
};

struct swim_ctx;

/**
 * Creates a context for rank self at incarnation inc (the engine's incarnation; a restarted
 * engine must use a higher one). Uses the SWIM fields of t (period, ping and suspicion
 * timeouts, subgroup size 0..SWIM_SUBGROUP_MAX; 0 disables indirect pings). ops->send and
 * ops->member_dead are required. 0 or -EINVAL/-ENOMEM.
 */
int swim_init(struct swim_ctx **ctx, uint32_t self, uint64_t inc, const struct swim_ops *ops,
	      void *arg, const struct dss_tunables *t);

/** Frees the context (no callbacks). */
void swim_fini(struct swim_ctx *ctx);

/**
 * Drives the timers at time now (milliseconds, monotonic): probes, indirect probes,
 * suspicion expiry, dead-member probes. Call it often, at least every ping timeout / 4.
 * Returns the time of the next timer, so a driver may sleep until then (or until a message).
 */
uint64_t swim_tick(struct swim_ctx *ctx, uint64_t now);

/**
 * Handles one message of len bytes from member src. 0; -EINVAL when the bytes do not decode
 * or contradict src (e.g. a PING for another rank); -ENOENT when src is not a member.
 */
int swim_recv(struct swim_ctx *ctx, uint32_t src, const uint8_t *buf, size_t len, uint64_t now);

/**
 * Adds a member from the group map, ALIVE at incarnation inc, or, for a known member, moves
 * it to ALIVE at inc when inc is higher than the one held (restarted engine). Adding self
 * only raises self's incarnation. 0, -EINVAL (NONE rank), -ENOSPC (too many), -ENOMEM.
 */
int swim_member_add(struct swim_ctx *ctx, uint32_t rank, uint64_t inc);

/** Removes a member that left the group map. 0 or -ENOENT (-EINVAL for self). */
int swim_member_del(struct swim_ctx *ctx, uint32_t rank);

/** A member's state and incarnation as this context sees it. 0 or -ENOENT. */
int swim_member_get(const struct swim_ctx *ctx, uint32_t rank, enum swim_state *state,
		    uint64_t *inc);

/** Number of members, self included. */
size_t swim_member_count(const struct swim_ctx *ctx);

/** This context's own incarnation (bumped by refutations). */
uint64_t swim_self_incarnation(const struct swim_ctx *ctx);

/** Counters. */
void swim_stats_get(const struct swim_ctx *ctx, struct swim_stats *out);

/** "ALIVE"/"SUSPECT"/"DEAD". */
const char *swim_state_str(enum swim_state s);

/** A reason phrase for the RAS event ("swim: suspicion timed out" ...). */
const char *swim_dead_reason_str(enum swim_dead_reason r);

#endif /* DSS_SWIM_H */
