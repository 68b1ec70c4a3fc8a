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
 * Files are created by one thread each, as the engines create theirs in parallel.
 */
#include <errno.h>
#include <libpmemobj.h>
#include <pthread.h>
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

struct worker {
	size_t first, step;
	int failed;
	char err[4600];
};

static void *create_some(void *arg)
{
	struct worker *w = arg;
	char path[4096];

	for (size_t i = w->first; i < ndirs && !w->failed; i += w->step) {
		PMEMobjpool *pop;

		snprintf(path, sizeof(path), "%s/%s", dirs[i], FLOOR_UUID);
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(w->err, sizeof(w->err), "mkdir %s: %s", path, strerror(errno));
			w->failed = 1;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s/vos-0", dirs[i], FLOOR_UUID);
		unlink(path);
		pop = pmemobj_create(path, FLOOR_LAYOUT, size, 0600);
		if (pop == NULL) {
			snprintf(w->err, sizeof(w->err), "pmemobj_create %s (%zu bytes): %s", path,
				 size, pmemobj_errormsg());
			w->failed = 1;
			break;
		}
		pmemobj_close(pop);
	}
	return NULL;
}

static int create_files(char *err, size_t errlen)
{
	/* One thread per file, as every engine creates its own shard at the same time: with
	 * fewer workers a loaded machine would give the floor a smaller CPU share than the
	 * engines get, and the floor would not be the minimum. */
	size_t n = ndirs;
	struct worker *w = calloc(n, sizeof(*w));
	pthread_t *th = calloc(n, sizeof(*th));
	int rc = 0;

	if (w == NULL || th == NULL) {
		snprintf(err, errlen, "out of memory");
		free(w);
		free(th);
		return -1;
	}
	for (size_t t = 0; t < n; t++) {
		w[t].first = t;
		w[t].step = n;
		if (pthread_create(&th[t], NULL, create_some, &w[t]) != 0) {
			snprintf(err, errlen, "pthread_create failed");
			n = t;
			rc = -1;
			break;
		}
	}
	for (size_t t = 0; t < n; t++) {
		pthread_join(th[t], NULL);
		if (w[t].failed && rc == 0) {
			snprintf(err, errlen, "%s", w[t].err);
			rc = -1;
		}
	}
	free(w);
	free(th);
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
