/*
 * libdaos_engine: one DAOS engine instance (data plane) in a shared library.
 *
 * Lifecycle: daos_engine_create() parses the engine arguments (the DAOS flags daos_server
 * passes: -t -x -f -p -s -n -I -d -g -r -H -T -m -b -C), checks the storage and loads the
 * modules named by -m (comma-separated, default "mgmt"): each is lib<name>.so in the module
 * directory, opened with dlopen (src/module.h); start() opens
 * the dRPC listener <socket_dir>/daos_engine_<pid>.sock, binds the fabric endpoint, starts the
 * xstreams and sends NotifyReady to <socket_dir>/daos_server.sock; stop() joins every thread
 * and removes the socket; destroy() frees the engine. One engine per process.
 *
 * Environment: D_PROVIDER (ofi+tcp or ofi+sockets, on libfabric), D_INTERFACE, D_PORT (fabric), DAOS_FABRIC_ADDR (our override of the
 * interface's IPv4 address), D_LOG_FILE (log destination; stderr when unset), D_LOG_MASK,
 * DAOS_SERVER_PID (the daos_server that started the engine: when that process exits, the
 * engine notices at once, logs it and stops itself with last_error set; unset = not watched),
 * DAOS_MODULE_DIR (absolute path of the module directory; default: modules/ beside
 * libdaos_engine.so, i.e. build/modules), DAOS_TM_DIR (directory of the telemetry tree,
 * default /dev/shm).
 *
 * Telemetry: start() creates the engine's metrics tree <DAOS_TM_DIR>/daos_tm_<system>_<-I>
 * (replacing one a dead engine left), stop() removes it; daos_server reads it with the reader
 * of daos_telemetry.h. An engine that cannot have its tree runs without one (logged).
 *
 * Thread safety: create/start/stop/destroy are called from one controlling thread.
 * daos_engine_request_stop() is async-signal-safe and may be called from any thread.
 */
#ifndef DAOS_ENGINE_H
#define DAOS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; only this API is exported. */
#define DAOS_ENGINE_API __attribute__((visibility("default")))

/** Opaque engine handle. */
typedef struct dss_engine daos_engine_t;

/** Engine states reported by daos_engine_state(). */
enum daos_engine_state {
	DAOS_ENGINE_CREATED  = 0, /* arguments parsed, storage checked */
	DAOS_ENGINE_STARTED  = 1, /* xstreams running, dRPC listening */
	DAOS_ENGINE_READY    = 2, /* NotifyReady acknowledged by daos_server */
	DAOS_ENGINE_SETUP    = 3, /* SetUp received: modules set up */
	DAOS_ENGINE_STOPPING = 4, /* stop requested */
	DAOS_ENGINE_STOPPED  = 5, /* every thread joined */
};

/**
 * Parse the engine arguments (argv[0] is the program name) and open/check the storage.
 * On failure returns NULL and writes a message naming the bad input and the fix into err.
 */
DAOS_ENGINE_API daos_engine_t *daos_engine_create(int argc, const char *const *argv, char *err, size_t errlen);

/** Start xstreams, dRPC server, fabric endpoint and the NotifyReady up-call. 0 or -errno. */
DAOS_ENGINE_API int daos_engine_start(daos_engine_t *eng, char *err, size_t errlen);

/** Ask the engine to stop without waiting. Async-signal-safe; idempotent. */
DAOS_ENGINE_API void daos_engine_request_stop(daos_engine_t *eng);

/**
 * Block until a stop was requested or timeout_ms passed (-1 = forever).
 * Returns 1 when a stop was requested, 0 on timeout.
 */
DAOS_ENGINE_API int daos_engine_wait(daos_engine_t *eng, int timeout_ms);

/** Stop: request stop, join every thread, close sockets and unlink the dRPC socket. 0 or -errno. */
DAOS_ENGINE_API int daos_engine_stop(daos_engine_t *eng);

/** Free the engine (stops it first if needed). */
DAOS_ENGINE_API void daos_engine_destroy(daos_engine_t *eng);

/** Current state (enum daos_engine_state). */
DAOS_ENGINE_API int daos_engine_state(const daos_engine_t *eng);

/** Path of the dRPC listener socket ("" before start). */
DAOS_ENGINE_API const char *daos_engine_socket_path(const daos_engine_t *eng);

/** Fabric URI, e.g. "ofi+tcp://127.0.0.1:31416" ("" before start). */
DAOS_ENGINE_API const char *daos_engine_uri(const daos_engine_t *eng);

/** Rank set by SetRank, or 0xFFFFFFFF (NilRank) before. */
DAOS_ENGINE_API uint32_t daos_engine_rank(const daos_engine_t *eng);

/** Number of running engine threads (targets + helpers + system + up-call). */
DAOS_ENGINE_API int daos_engine_thread_count(const daos_engine_t *eng);

/** Why the engine stopped itself (e.g. NotifyReady rejected); "" when it did not. */
DAOS_ENGINE_API const char *daos_engine_last_error(const daos_engine_t *eng);

/**
 * 1 after PrepShutdown (mgmt 218): the target xstreams take no new work, so PingRank of this
 * engine's own rank answers -DER_SHUTDOWN. A later SetUp clears it (0); a new engine starts at 0.
 */
DAOS_ENGINE_API int daos_engine_prep_shutdown(const daos_engine_t *eng);

/** Incarnation sent with NotifyReady (grows across restarts). */
DAOS_ENGINE_API uint64_t daos_engine_incarnation(const daos_engine_t *eng);

/**
 * Ping the engine at a fabric URI ("ofi+tcp://IP:PORT") with the RPC layer's ping, from an
 * endpoint of its own (any process; no engine needed), bounded by timeout_ms. On success
 * fills rank, instance and incarnation (each may be NULL) and returns 0; otherwise a negative
 * errno or -DER_* with a message in err.
 */
DAOS_ENGINE_API int daos_engine_fabric_ping(const char *uri, int timeout_ms, uint32_t *rank,
					    uint32_t *instance, uint64_t *incarnation, char *err,
					    size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* DAOS_ENGINE_H */
