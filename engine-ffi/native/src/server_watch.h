/*
 * Orphan check: the engine watches the daos_server that started it and stops itself when
 * that process is gone, so a SIGKILLed daos_server leaves no engines behind.
 *
 * daos_server passes its pid in DAOS_SERVER_PID. The engine opens a pidfd on it (readable as
 * soon as the process exits, even before it is reaped) and the progress loop polls it with the
 * dRPC sockets, so the death is noticed at once. Where pidfd_open(2) is unavailable, the loop
 * falls back to comparing getppid() with that pid on every wake-up (at most 1 s apart): a dead
 * parent's children are re-parented. PR_SET_PDEATHSIG is not used: it fires when the spawning
 * *thread* exits, and Deno spawns from runtime threads.
 */
#ifndef DSS_SERVER_WATCH_H
#define DSS_SERVER_WATCH_H

#include <stddef.h>
#include <sys/types.h>

/** Environment variable naming the daos_server pid to watch. */
#define DSS_SERVER_PID_ENV "DAOS_SERVER_PID"

struct dss_server_watch {
	pid_t pid;   /* watched daos_server, 0 = not watching */
	int pidfd;   /* pidfd on pid, -1 when using the getppid() fallback */
};

/**
 * Start watching the pid in value (the DAOS_SERVER_PID text; NULL or "" = watch nothing).
 * -EINVAL for a malformed pid, -ESRCH when that process is not running (the engine would start
 * orphaned), -ECHILD when pidfds are unavailable and it is not our parent; err names the
 * variable and the fix. 0 on success.
 */
int dss_server_watch_open(struct dss_server_watch *w, const char *value, char *err,
			  size_t errlen);

/** The fd to poll for POLLIN (the process exited), or -1. */
int dss_server_watch_fd(const struct dss_server_watch *w);

/** 1 when the watched daos_server has exited, 0 while it runs or when nothing is watched. */
int dss_server_watch_gone(const struct dss_server_watch *w);

/** Stop watching; closes the pidfd. Idempotent. */
void dss_server_watch_close(struct dss_server_watch *w);

#endif
