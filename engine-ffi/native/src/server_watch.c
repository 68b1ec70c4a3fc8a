/* Watching the daos_server process: pidfd when available, getppid() otherwise. */
#include "server_watch.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "log.h"

int dss_server_watch_open(struct dss_server_watch *w, const char *value, char *err,
			  size_t errlen)
{
	char *end = NULL;
	long pid;

	w->pid = 0;
	w->pidfd = -1;
	if (value == NULL || value[0] == '\0')
		return 0;
	errno = 0;
	pid = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || pid <= 1 || pid > INT_MAX) {
		snprintf(err, errlen, "invalid %s '%s': set it to the pid of the daos_server "
			 "starting this engine, or unset it", DSS_SERVER_PID_ENV, value);
		return -EINVAL;
	}
	w->pidfd = pidfd_open((pid_t)pid, 0);
	if (w->pidfd < 0 && errno == ESRCH) {
		snprintf(err, errlen, "daos_server (pid %ld, %s) is not running: the engine would "
			 "be orphaned; start engines from daos_server", pid, DSS_SERVER_PID_ENV);
		return -ESRCH;
	}
	if (w->pidfd < 0 && getppid() != (pid_t)pid) {
		snprintf(err, errlen, "cannot watch daos_server (pid %ld, %s): pidfd_open: %s, "
			 "and it is not this engine's parent (%d); start the engine directly from "
			 "daos_server", pid, DSS_SERVER_PID_ENV, strerror(errno), (int)getppid());
		return -ECHILD;
	}
	if (w->pidfd < 0)
		D_WARN("pidfd_open(%ld): %s; watching daos_server through getppid()", pid,
		       strerror(errno));
	w->pid = (pid_t)pid;
	return 0;
}

int dss_server_watch_fd(const struct dss_server_watch *w)
{
	return w->pidfd;
}

int dss_server_watch_gone(const struct dss_server_watch *w)
{
	if (w->pid == 0)
		return 0;
	if (w->pidfd >= 0) {
		struct pollfd pfd = {.fd = w->pidfd, .events = POLLIN};

		return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP)) ? 1 : 0;
	}
	return getppid() != w->pid;
}

void dss_server_watch_close(struct dss_server_watch *w)
{
	if (w->pidfd >= 0)
		close(w->pidfd);
	w->pidfd = -1;
	w->pid = 0;
}
