/* DAOS error numbers (daos_errno.h of the reference) used by the storage core; returned negated. */
#ifndef DSS_DER_H
#define DSS_DER_H

#define DER_INVAL     1003
#define DER_EXIST     1004
#define DER_NONEXIST  1005
#define DER_NOSPACE   1007
#define DER_NOMEM     1009
#define DER_TIMEDOUT  1011
#define DER_BUSY      1012
#define DER_IO        2001
#define DER_CSUM      2021
#define DER_DF_INVAL  2022
#define DER_DF_INCOMPT 2023

#endif
