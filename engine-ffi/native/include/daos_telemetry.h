/*
 * Reader of an engine's telemetry tree (the shared-memory metrics an engine keeps, see
 * src/telemetry_layout.h), exported from libdaos_engine.so for daos_server (Deno FFI,
 * engine-ffi/telemetry.ts). The reader only ever opens the file read-only and copies it
 * (pread, so a file truncated under it cannot fault the reader the way a mapping would); it
 * treats the contents as hostile: every size, count, type and string is checked, and a bad
 * tree is an error, never a crash.
 *
 * Result: a JSON document (malloc'd, free with daos_tm_free):
 *   {"system": "daos_server", "instance": 0, "pid": 1234, "created": <epoch s>,
 *    "metrics": [{"path": "started_at", "type": "timestamp", "desc": "...", "units": "",
 *                 "value": 1700000000},
 *                {"path": "drpc/mgmt/set_rank/latency", "type": "duration", "units": "ns",
 *                 "count": 3, "sum": .., "min": .., "max": .., "mean": .., "stddev": ..,
 *                 "last": ..}, ...]}
 * types: "counter" (u64), "gauge" (i64), "timestamp" (epoch seconds), "duration" (ns stats).
 */
#ifndef DAOS_TELEMETRY_H
#define DAOS_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DAOS_TM_API __attribute__((visibility("default")))

/**
 * Read the tree of engine instance_idx of system (dir NULL or "": DAOS_TM_DIR, else
 * /dev/shm). 0 with *json set, or -errno with err naming the file and the cause:
 * -ENOENT (no tree: the engine is not running), -ESTALE (the engine that wrote it is gone),
 * -EBADMSG (not a valid tree), -EPROTO (another layout version), -EPERM (the file belongs to
 * another user than the reader's or root: not written by our engine), -EINVAL (bad argument).
 */
DAOS_TM_API int daos_tm_read(const char *dir, const char *system, int instance_idx,
			     char **json, char *err, size_t errlen);

/** daos_tm_read on a tree file by path. */
DAOS_TM_API int daos_tm_read_file(const char *file, char **json, char *err, size_t errlen);

/**
 * Decode a tree image already in memory (what daos_tm_read_file does after reading, without
 * the liveness check). 0 with *json set, or -EBADMSG/-EPROTO/-ENOMEM with err set.
 */
DAOS_TM_API int daos_tm_decode(const uint8_t *buf, size_t len, char **json, char *err,
			       size_t errlen);

/**
 * Remove the tree of (system, instance_idx) in dir (as daos_tm_read) when its engine is gone,
 * e.g. when daos_server sees that engine exit after a SIGKILL; the next start of that engine
 * would replace it anyway. 0 removed, -ENOENT no tree, -EBUSY its engine is alive (kept),
 * -EINVAL bad argument, -EPERM owned by another user, or -errno; err says which.
 */
DAOS_TM_API int daos_tm_remove_stale(const char *dir, const char *system, int instance_idx,
				     char *err, size_t errlen);

/** Free a JSON document returned by the functions above (NULL is a no-op). */
DAOS_TM_API void daos_tm_free(char *json);

#ifdef __cplusplus
}
#endif

#endif /* DAOS_TELEMETRY_H */
