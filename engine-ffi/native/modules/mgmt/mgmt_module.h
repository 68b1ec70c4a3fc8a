/* The engine's mgmt module (dRPC module 2): SetRank, SetUp, PrepShutdown, PingRank,
 * GroupUpdate, SmdListDevs, BioHealthQuery, SetLogMasks, DevSetFaulty, DevReplace. Built as libmgmt.so, exporting
 * mgmt_module; the engine opens it with dlopen (module.h). */
#ifndef DSS_MGMT_MODULE_H
#define DSS_MGMT_MODULE_H

#include "module.h"

enum drpc_mgmt_method {
	DRPC_METHOD_MGMT_SET_RANK = 202,
	DRPC_METHOD_MGMT_SET_UP = 209,
	DRPC_METHOD_MGMT_BIO_HEALTH_QUERY = 210,
	DRPC_METHOD_MGMT_SMD_LIST_DEVS = 211,
	DRPC_METHOD_MGMT_PREP_SHUTDOWN = 218,
	DRPC_METHOD_MGMT_DEV_SET_FAULTY = 220,
	DRPC_METHOD_MGMT_DEV_REPLACE = 221,
	DRPC_METHOD_MGMT_PING_RANK = 225,
	DRPC_METHOD_MGMT_GROUP_UPDATE = 232,
	DRPC_METHOD_MGMT_SET_LOG_MASKS = 238,
};

/* DAOS error numbers carried (negated) in method-level status fields. */
#define DER_INVAL    1003
#define DER_NONEXIST 1005
#define DER_UNREACH  1006
#define DER_NOMEM    1009
#define DER_TIMEDOUT 1011
#define DER_IO       2001
#define DER_SHUTDOWN 2017

extern DSS_MODULE_EXPORT const struct dss_module mgmt_module;

#endif
