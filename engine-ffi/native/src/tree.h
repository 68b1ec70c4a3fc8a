/*
 * k-ary tree over a rank set, for collective RPCs. The members are the group's ranks, sorted,
 * without the excluded ones; the tree is laid out over them starting at the root: the member at
 * sorted position p has logical index j = (p - root_pos) mod n, its children are the logical
 * indexes j*k+1 .. j*k+k and its parent (j-1)/k. Every member is reached exactly once and the
 * depth is at most ceil(log_k n) + 1 levels.
 */
#ifndef DSS_TREE_H
#define DSS_TREE_H

#include <stddef.h>
#include <stdint.h>

#define CRT_TREE_MAX_K 64

/**
 * Sorted, de-duplicated copy of ranks without any of excluded (malloc'd into *out, may be
 * NULL when *nout is 0). 0 or -ENOMEM.
 */
int crt_tree_members(const uint32_t *ranks, size_t n, const uint32_t *excluded, size_t nex,
		     uint32_t **out, size_t *nout);

/**
 * Children of self for a tree rooted at root with fan-out k (1..CRT_TREE_MAX_K), in order,
 * into children[cap]. Returns the count, -ENOENT when root or self is not a member, -EINVAL on
 * a bad k, -ENOSPC when cap is too small.
 */
int crt_tree_children(const uint32_t *members, size_t n, uint32_t root, unsigned k,
		      uint32_t self, uint32_t *children, size_t cap);

/** Parent of self: 0 with *parent set, 1 when self is the root, -ENOENT/-EINVAL. */
int crt_tree_parent(const uint32_t *members, size_t n, uint32_t root, unsigned k, uint32_t self,
		    uint32_t *parent);

/**
 * Every descendant of node (not node itself) into out[cap]. Returns the count, -ENOENT,
 * -EINVAL or -ENOSPC.
 */
int crt_tree_descendants(const uint32_t *members, size_t n, uint32_t root, unsigned k,
			 uint32_t node, uint32_t *out, size_t cap);

/** Depth of self (root = 0), or -ENOENT/-EINVAL. */
int crt_tree_depth(const uint32_t *members, size_t n, uint32_t root, unsigned k, uint32_t self);

#endif
