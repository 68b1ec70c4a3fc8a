/* k-ary tree topology over sorted rank sets (tree.h). */
#include "tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int contains(const uint32_t *sorted, size_t n, uint32_t r)
{
	return n > 0 && bsearch(&r, sorted, n, sizeof(*sorted), cmp_u32) != NULL;
}

int crt_tree_members(const uint32_t *ranks, size_t n, const uint32_t *excluded, size_t nex,
		     uint32_t **out, size_t *nout)
{
	uint32_t *m, *ex = NULL;
	size_t cnt = 0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	m = malloc(n * sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	if (nex > 0) {
		ex = malloc(nex * sizeof(*ex));
		if (ex == NULL) {
			free(m);
			return -ENOMEM;
		}
		memcpy(ex, excluded, nex * sizeof(*ex));
		qsort(ex, nex, sizeof(*ex), cmp_u32);
	}
	memcpy(m, ranks, n * sizeof(*m));
	qsort(m, n, sizeof(*m), cmp_u32);
	for (size_t i = 0; i < n; i++) {
		if ((cnt > 0 && m[cnt - 1] == m[i]) || contains(ex, nex, m[i]))
			continue;
		m[cnt++] = m[i];
	}
	free(ex);
	if (cnt == 0) {
		free(m);
		return 0;
	}
	*out = m;
	*nout = cnt;
	return 0;
}

/* Sorted position of r, or -1. */
static long pos_of(const uint32_t *members, size_t n, uint32_t r)
{
	const uint32_t *p = n ? bsearch(&r, members, n, sizeof(*members), cmp_u32) : NULL;

	return p == NULL ? -1 : (long)(p - members);
}

/* Logical index of self in the tree rooted at root, or a negative errno. */
static long logical(const uint32_t *members, size_t n, uint32_t root, unsigned k, uint32_t self)
{
	long rp, sp;

	if (k < 1 || k > CRT_TREE_MAX_K)
		return -EINVAL;
	rp = pos_of(members, n, root);
	sp = pos_of(members, n, self);
	if (rp < 0 || sp < 0)
		return -ENOENT;
	return (sp - rp + (long)n) % (long)n;
}

static uint32_t member_at(const uint32_t *members, size_t n, uint32_t root, size_t j)
{
	size_t rp = (size_t)pos_of(members, n, root);

	return members[(rp + j) % n];
}

int crt_tree_children(const uint32_t *members, size_t n, uint32_t root, unsigned k,
		      uint32_t self, uint32_t *children, size_t cap)
{
	long j = logical(members, n, root, k, self);
	size_t cnt = 0;

	if (j < 0)
		return (int)j;
	for (size_t c = (size_t)j * k + 1; c <= (size_t)j * k + k && c < n; c++) {
		if (cnt >= cap)
			return -ENOSPC;
		children[cnt++] = member_at(members, n, root, c);
	}
	return (int)cnt;
}

int crt_tree_parent(const uint32_t *members, size_t n, uint32_t root, unsigned k, uint32_t self,
		    uint32_t *parent)
{
	long j = logical(members, n, root, k, self);

	if (j < 0)
		return (int)j;
	if (j == 0)
		return 1;
	*parent = member_at(members, n, root, (size_t)(j - 1) / k);
	return 0;
}

int crt_tree_descendants(const uint32_t *members, size_t n, uint32_t root, unsigned k,
			 uint32_t node, uint32_t *out, size_t cap)
{
	long j = logical(members, n, root, k, node);
	size_t lo, hi, cnt = 0;

	if (j < 0)
		return (int)j;
	/* each level of the subtree is a contiguous range of logical indexes */
	lo = (size_t)j * k + 1;
	hi = (size_t)j * k + k;
	while (lo < n) {
		for (size_t c = lo; c <= hi && c < n; c++) {
			if (cnt >= cap)
				return -ENOSPC;
			out[cnt++] = member_at(members, n, root, c);
		}
		lo = lo * k + 1;
		hi = hi * k + k;
	}
	return (int)cnt;
}

int crt_tree_depth(const uint32_t *members, size_t n, uint32_t root, unsigned k, uint32_t self)
{
	long j = logical(members, n, root, k, self);
	int d = 0;

	if (j < 0)
		return (int)j;
	while (j > 0) {
		j = (j - 1) / k;
		d++;
	}
	return d;
}
