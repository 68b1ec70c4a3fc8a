/*
 * On-disk (shared-memory) layout of an engine's telemetry tree, shared by the producer
 * (telemetry.c, in the engine) and the reader (telemetry_read.c, in daos_server via FFI).
 *
 * One file per engine instance, <dir>/daos_tm_<system>_<instance> (dir: DAOS_TM_DIR, default
 * /dev/shm), mode 0640. A header, then a fixed array of metric slots. Slots are only ever
 * appended: a slot is written completely, then `nused` is raised (release), so a reader that
 * reads nused first sees whole slots. The tree is flat: each slot carries its full path
 * ("drpc/mgmt/set_rank/calls"); the directories of the reference's d_tm tree are the path's
 * prefixes.
 *
 * The producer holds flock(LOCK_EX) on the file for as long as it lives; the kernel drops the
 * lock when the process dies however it dies, so a reader (or the next engine of the same
 * instance) that can take LOCK_SH knows the tree is stale.
 *
 * Everything the reader takes from the file is untrusted: it checks magic, version, sizes,
 * counts, types and that every string is NUL-terminated inside its field.
 */
#ifndef DSS_TELEMETRY_LAYOUT_H
#define DSS_TELEMETRY_LAYOUT_H

#include <stdint.h>

#define DSS_TM_MAGIC        "DAOSTM\0\1"
#define DSS_TM_VERSION      1
#define DSS_TM_DIR_ENV      "DAOS_TM_DIR"
#define DSS_TM_DISABLE_ENV  "DAOS_TM_DISABLE"
#define DSS_TM_DEFAULT_DIR  "/dev/shm"
#define DSS_TM_FILE_PREFIX  "daos_tm_"
#define DSS_TM_MAX_SLOTS    65536
#define DSS_TM_SYSTEM_MAX   64

#define DSS_TM_PATH_LEN  232
#define DSS_TM_DESC_LEN  128
#define DSS_TM_UNITS_LEN 16
#define DSS_TM_NVALS     16

/* Metric types (the reference's d_tm types that carry values). */
enum dss_tm_type {
	DSS_TM_COUNTER   = 1, /* u64, only grows: v[0] */
	DSS_TM_GAUGE     = 2, /* i64, set or moved up and down: v[0] */
	DSS_TM_TIMESTAMP = 3, /* u64 seconds since the epoch: v[0] */
	DSS_TM_DURATION  = 4, /* samples in ns: see DSS_TM_D_* */
};

/* Value words of a DSS_TM_DURATION slot. min starts at UINT64_MAX (no sample yet). */
enum {
	DSS_TM_D_COUNT = 0,
	DSS_TM_D_SUM   = 1,
	DSS_TM_D_MIN   = 2,
	DSS_TM_D_MAX   = 3,
	DSS_TM_D_SUMSQ = 4, /* double bits: sum of squares for the standard deviation */
	DSS_TM_D_LAST  = 5,
};

struct dss_tm_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;  /* sizeof(struct dss_tm_header) */
	uint32_t slot_size;    /* sizeof(struct dss_tm_slot) */
	uint32_t nslots;       /* capacity */
	uint32_t nused;        /* published slots; only grows */
	uint32_t pid;          /* producer */
	uint64_t created;      /* seconds since the epoch */
	int32_t instance_idx;
	uint32_t reserved;
	char system[DSS_TM_SYSTEM_MAX];
	uint8_t pad[16];
};

struct dss_tm_slot {
	uint32_t type;          /* enum dss_tm_type */
	uint32_t reserved;
	char path[DSS_TM_PATH_LEN];
	char desc[DSS_TM_DESC_LEN];
	char units[DSS_TM_UNITS_LEN];
	uint64_t v[DSS_TM_NVALS]; /* updated with atomics */
};

_Static_assert(sizeof(struct dss_tm_header) == 128, "header layout");
_Static_assert(sizeof(struct dss_tm_slot) == 512, "slot layout");

#endif
