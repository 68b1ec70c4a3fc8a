/*
 * daos_pdeathsig PARENT_PID PROGRAM [ARG...]
 *
 * Execs PROGRAM so that it is SIGKILLed when the process that started it dies, even by
 * SIGKILL: daos_server starts its etcd member through this, so a crashed daos_server never
 * leaves a member behind holding the ports and data dir its restart needs. PARENT_PID is the
 * starter's pid; it closes the race where the starter died before prctl() ran (then the
 * parent death signal would never come).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end = NULL;
	long parent;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PARENT_PID PROGRAM [ARG...]\n", argv[0]);
		return 125;
	}
	errno = 0;
	parent = strtol(argv[1], &end, 10);
	if (errno != 0 || end == argv[1] || *end != '\0' || parent < 1 || parent > INT_MAX) {
		fprintf(stderr, "%s: invalid parent pid '%s': give the pid of the starting process\n",
			argv[0], argv[1]);
		return 125;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
		fprintf(stderr, "%s: prctl(PR_SET_PDEATHSIG): %s\n", argv[0], strerror(errno));
		return 125;
	}
	/* After prctl: if the parent is already gone we were reparented and no signal will come. */
	if (getppid() != (pid_t)parent) {
		fprintf(stderr, "%s: parent %ld exited before %s started: not starting it\n", argv[0],
			parent, argv[2]);
		return 125;
	}
	execv(argv[2], argv + 2);
	fprintf(stderr, "%s: cannot execute %s: %s\n", argv[0], argv[2], strerror(errno));
	return 127;
}
