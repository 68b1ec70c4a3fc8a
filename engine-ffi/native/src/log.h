/* Engine logging: one line per message to D_LOG_FILE (append) or stderr. */
#ifndef DSS_LOG_H
#define DSS_LOG_H

#include "dss_api.h"

enum dss_log_level { DLOG_DBG = 0, DLOG_INFO = 1, DLOG_NOTE = 2, DLOG_WARN = 3, DLOG_ERR = 4, DLOG_CRIT = 5 };

/** Open the log destination (path NULL or "" = stderr). 0 or -errno. */
int dss_log_open(const char *path);
/** Close the log file (back to stderr). */
void dss_log_close(void);
/** Set the minimum level from a DAOS mask "LEVEL[,SUBSYS=LEVEL...]"; 0 or -EINVAL. */
DSS_API int dss_log_set_mask(const char *mask);
/** Current minimum level. */
DSS_API int dss_log_level(void);
/** Write one message if level >= the mask. */
DSS_API void dss_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define D_DEBUG(...) dss_log(DLOG_DBG, __VA_ARGS__)
#define D_INFO(...)  dss_log(DLOG_INFO, __VA_ARGS__)
#define D_WARN(...)  dss_log(DLOG_WARN, __VA_ARGS__)
#define D_ERROR(...) dss_log(DLOG_ERR, __VA_ARGS__)

#endif
