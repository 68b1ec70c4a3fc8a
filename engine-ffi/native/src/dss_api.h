/*
 * DSS_API marks the engine functions that engine modules (lib<name>.so, see module.h) may
 * call. libdaos_engine.so is built with -fvisibility=hidden: everything else stays private,
 * so `nm -D --defined-only build/libdaos_engine.so` lists exactly the module interface plus
 * the daos_engine_* API.
 */
#ifndef DSS_API_H
#define DSS_API_H

#define DSS_API __attribute__((visibility("default")))

#endif
