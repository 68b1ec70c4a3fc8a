/* Engine logging. A mutex keeps lines from different xstreams whole. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_fp;
static int log_min = DLOG_ERR;

int dss_log_open(const char *path)
{
	FILE *fp;

	if (path == NULL || path[0] == '\0')
		return 0;
	fp = fopen(path, "a");
	if (fp == NULL)
		return -errno;
	setvbuf(fp, NULL, _IOLBF, 0);
	pthread_mutex_lock(&log_lock);
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = fp;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void dss_log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = NULL;
	pthread_mutex_unlock(&log_lock);
}

static int parse_level(const char *s, size_t n)
{
	static const struct { const char *name; int level; } names[] = {
		{"DEBUG", DLOG_DBG}, {"DBUG", DLOG_DBG}, {"INFO", DLOG_INFO}, {"NOTE", DLOG_NOTE},
		{"WARN", DLOG_WARN}, {"ERROR", DLOG_ERR}, {"ERR", DLOG_ERR}, {"CRIT", DLOG_CRIT},
		{"ALRT", DLOG_CRIT}, {"FATAL", DLOG_CRIT}, {"EMRG", DLOG_CRIT}, {"EMIT", DLOG_CRIT},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && strncasecmp(names[i].name, s, n) == 0)
			return names[i].level;
	return -1;
}

int dss_log_set_mask(const char *mask)
{
	/* The base level is the first element; SUBSYS=LEVEL elements may only lower it,
	 * since we log all subsystems through one stream. */
	int level = -1;
	const char *p = mask;

	if (mask == NULL || mask[0] == '\0')
		return -EINVAL;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		int l;

		if (eq != NULL)
			l = parse_level(eq + 1, n - (size_t)(eq + 1 - p));
		else
			l = parse_level(p, n);
		if (l < 0)
			return -EINVAL;
		if (level < 0 || l < level)
			level = l;
		p += n;
		if (*p == ',')
			p++;
	}
	__atomic_store_n(&log_min, level, __ATOMIC_RELAXED);
	return 0;
}

int dss_log_level(void)
{
	return __atomic_load_n(&log_min, __ATOMIC_RELAXED);
}

void dss_log(int level, const char *fmt, ...)
{
	static const char *tags[] = {"DBUG", "INFO", "NOTE", "WARN", "ERR ", "CRIT"};
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	FILE *fp;

	if (level < dss_log_level())
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y/%m/%d-%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fp = log_fp ? log_fp : stderr;
	fprintf(fp, "%s.%06ld daos_engine[%d] %s ", ts, now.tv_nsec / 1000, (int)getpid(),
		tags[level < 0 ? 0 : level > 5 ? 5 : level]);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
	fflush(fp);
	pthread_mutex_unlock(&log_lock);
}
