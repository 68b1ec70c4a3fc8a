/*
 * Floor helper of the pool benches: creates (pmemobj_create + pmemobj_close) and removes the
 * same pmemobj files a pool create/destroy makes, one per directory given, with no RPC,
 * etcd or dRPC around it. Run inside the simulator's mount namespace so the files land on
 * the same tmpfs mounts as the engines' shards.
 *
 *   pmem_floor SIZE DIR...   then one command a line on stdin:
 *     create   DIR/<uuid>/vos-0 of SIZE bytes in every DIR   -> "ok <elapsed µs>"
 *     remove   unlink those files and their directories      -> "ok <elapsed µs>"
 *     quit
 *   Any failure answers "err <message>" (the files made so far are removed first).
 * Files are created by one worker process each, as the engines create theirs in parallel.
 * Closing stdin (or "quit") ends the workers too: their command pipes close.
 */
#include <errno.h>
#include <libpmemobj.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_UUID "0f1003aa-0000-4000-8000-00000000f100"
#define FLOOR_LAYOUT "vos_pool_floor"

static size_t ndirs;
static char **dirs;
static size_t size;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void remove_files(size_t upto)
{
	char path[4096];

	for (size_t i = 0; i < upto; i++) {
		snprintf(path, sizeof(path), "%s/%s/vos-0", dirs[i], FLOOR_UUID);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", dirs[i], FLOOR_UUID);
		rmdir(path);
	}
}

/* Creates the file of directory i; 0 or -1 with err filled. */
static int create_one(size_t i, char *err, size_t errlen)
{
	char path[4096];
	PMEMobjpool *pop;

	snprintf(path, sizeof(path), "%s/%s", dirs[i], FLOOR_UUID);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/vos-0", dirs[i], FLOOR_UUID);
	unlink(path);
	pop = pmemobj_create(path, FLOOR_LAYOUT, size, 0600);
	if (pop == NULL) {
		snprintf(err, errlen, "pmemobj_create %s (%zu bytes): %s", path, size,
			 pmemobj_errormsg());
		return -1;
	}
	pmemobj_close(pop);
	return 0;
}

/*
 * One worker process per file, started once, as every engine is its own process creating its
 * shard at the same time: threads of one process would serialise on its address space
 * (mmap and page faults) and make the floor slower than the engines.
 */
static int *to_worker, *from_worker;

static void worker_loop(size_t i, int in, int out)
{
	char cmd, st, err[4600];

	while (read(in, &cmd, 1) == 1) {
		st = create_one(i, err, sizeof(err)) == 0 ? 0 : 1;
		if (st)
			fprintf(stderr, "pmem_floor: %s\n", err);
		if (write(out, &st, 1) != 1)
			break;
	}
	_exit(0);
}

static int start_workers(void)
{
	to_worker = calloc(ndirs, sizeof(int));
	from_worker = calloc(ndirs, sizeof(int));
	if (to_worker == NULL || from_worker == NULL)
		return -1;
	for (size_t i = 0; i < ndirs; i++) {
		int a[2], b[2];
		pid_t pid;

		if (pipe(a) != 0 || pipe(b) != 0)
			return -1;
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			close(a[1]);
			close(b[0]);
			/* the parent's other pipe ends stay open here: harmless, closed at exit */
			worker_loop(i, a[0], b[1]);
		}
		close(a[0]);
		close(b[1]);
		to_worker[i] = a[1];
		from_worker[i] = b[0];
	}
	return 0;
}

static int create_files(char *err, size_t errlen)
{
	char c = 'c', st;
	int rc = 0;

	for (size_t i = 0; i < ndirs; i++) {
		if (write(to_worker[i], &c, 1) != 1) {
			snprintf(err, errlen, "worker %zu gone", i);
			rc = -1;
		}
	}
	for (size_t i = 0; i < ndirs; i++) {
		if (read(from_worker[i], &st, 1) != 1 || st != 0) {
			if (rc == 0)
				snprintf(err, errlen, "creating the file in %s failed (see above)",
					 dirs[i]);
			rc = -1;
		}
	}
	if (rc != 0)
		remove_files(ndirs);
	return rc;
}

int main(int argc, char **argv)
{
	char line[256];
	char err[4600];

	if (argc < 3 || (size = strtoull(argv[1], NULL, 10)) < PMEMOBJ_MIN_POOL) {
		fprintf(stderr, "usage: pmem_floor SIZE DIR... (SIZE >= %zu bytes)\n",
			(size_t)PMEMOBJ_MIN_POOL);
		return 1;
	}
	dirs = argv + 2;
	ndirs = (size_t)argc - 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (start_workers() != 0) {
		fprintf(stderr, "pmem_floor: cannot start %zu workers: %s\n", ndirs, strerror(errno));
		return 1;
	}
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin) != NULL) {
		double t0 = now_us();

		if (strncmp(line, "create", 6) == 0) {
			if (create_files(err, sizeof(err)) != 0) {
				printf("err %s\n", err);
				continue;
			}
		} else if (strncmp(line, "remove", 6) == 0) {
			remove_files(ndirs);
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		} else {
			printf("err unknown command (create, remove, quit)\n");
			continue;
		}
		printf("ok %.1f\n", now_us() - t0);
	}
	remove_files(ndirs);
	return 0;
}
