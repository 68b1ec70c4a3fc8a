/*
 * pmemobj transaction helpers shared by the VOS pool code (vos.c) and its block allocator
 * (vea.c): one mapping of pmemobj errors to DAOS errors, one way to end a transaction.
 */
#ifndef DSS_PMEM_TX_H
#define DSS_PMEM_TX_H

#include <errno.h>
#include <libpmemobj.h>

#include "der.h"

/* Maps a pmemobj errno to a DAOS error. */
static inline int tx_errno(int e)
{
	return e == ENOMEM ? -DER_NOSPACE : -DER_IO;
}

/* Ends the transaction begun by the caller: commit when rc is 0, else abort; returns rc. */
static inline int tx_finish(int rc)
{
	if (rc == 0)
		pmemobj_tx_commit();
	else
		pmemobj_tx_abort(EINVAL);
	if (pmemobj_tx_end() != 0 && rc == 0)
		rc = -DER_IO;
	return rc;
}

#endif
