/* cmocka tests of the k-ary collective tree (tree.h): shapes for group sizes 1..300. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tree.h"

/* Walks the tree from root through crt_tree_children; checks every member is reached exactly
 * once, parents agree, depth bounds and descendants match the walk's subtrees. */
static void check_tree(const uint32_t *members, size_t n, uint32_t root, unsigned k)
{
	uint32_t *queue = calloc(n, sizeof(uint32_t));
	int *depth = calloc(n, sizeof(int));
	int *seen = calloc(n, sizeof(int));
	uint32_t kids[CRT_TREE_MAX_K];
	size_t head = 0, tail = 0;
	int maxdepth = 0, bound;

	assert_non_null(queue);
	queue[tail++] = root;
	while (head < tail) {
		uint32_t r = queue[head];
		int nk, d = crt_tree_depth(members, n, root, k, r);

		head++;
		assert_true(d >= 0);
		if (d > maxdepth)
			maxdepth = d;
		nk = crt_tree_children(members, n, root, k, r, kids, CRT_TREE_MAX_K);
		assert_true(nk >= 0 && (unsigned)nk <= k);
		for (int i = 0; i < nk; i++) {
			uint32_t parent;

			assert_int_equal(crt_tree_parent(members, n, root, k, kids[i], &parent), 0);
			assert_int_equal(parent, r);
			assert_int_equal(crt_tree_depth(members, n, root, k, kids[i]), d + 1);
			assert_true(tail < n); /* never more visits than members */
			queue[tail++] = kids[i];
		}
	}
	assert_int_equal(tail, n);
	for (size_t i = 0; i < n; i++) {
		size_t idx = 0;

		while (members[idx] != queue[i])
			idx++;
		assert_int_equal(seen[idx], 0); /* exactly once */
		seen[idx] = 1;
	}
	if (k >= 2) {
		bound = (int)ceil(log((double)n) / log((double)k)) + 1;
		assert_true(maxdepth + 1 <= bound || n == 1);
	}
	/* the root's descendants are everyone else */
	{
		uint32_t *d = calloc(n, sizeof(uint32_t));
		uint32_t parent;

		assert_int_equal(crt_tree_descendants(members, n, root, k, root, d, n), (int)n - 1);
		assert_int_equal(crt_tree_parent(members, n, root, k, root, &parent), 1);
		free(d);
	}
	free(queue);
	free(depth);
	free(seen);
}

static void test_shapes(void **state)
{
	(void)state;
	for (size_t n = 1; n <= 300; n++) {
		uint32_t *ranks = malloc(n * sizeof(uint32_t)), *m;
		size_t nm;

		/* non-contiguous ranks, given unsorted */
		for (size_t i = 0; i < n; i++)
			ranks[i] = (uint32_t)((n - 1 - i) * 3 + 1);
		assert_int_equal(crt_tree_members(ranks, n, NULL, 0, &m, &nm), 0);
		assert_int_equal(nm, n);
		for (unsigned k = 1; k <= 8; k++) {
			check_tree(m, nm, m[0], k);
			check_tree(m, nm, m[nm - 1], k);
			check_tree(m, nm, m[nm / 2], k);
		}
		check_tree(m, nm, m[nm / 3], 32);
		free(m);
		free(ranks);
	}
}

static void test_exclusions(void **state)
{
	uint32_t ranks[300], ex[] = {0, 7, 8, 150, 299, 1000}, *m, kids[CRT_TREE_MAX_K];
	size_t nm;

	(void)state;
	for (uint32_t i = 0; i < 300; i++)
		ranks[i] = i;
	assert_int_equal(crt_tree_members(ranks, 300, ex, 6, &m, &nm), 0);
	assert_int_equal(nm, 295);
	for (size_t i = 0; i < nm; i++)
		for (size_t e = 0; e < 6; e++)
			assert_int_not_equal(m[i], ex[e]);
	for (unsigned k = 2; k <= 16; k += 7)
		check_tree(m, nm, 42, k);
	/* an excluded rank is neither root nor member */
	assert_int_equal(crt_tree_children(m, nm, 7, 4, 42, kids, CRT_TREE_MAX_K), -ENOENT);
	assert_int_equal(crt_tree_children(m, nm, 42, 4, 7, kids, CRT_TREE_MAX_K), -ENOENT);
	assert_int_equal(crt_tree_depth(m, nm, 42, 0, 42), -EINVAL);
	assert_int_equal(crt_tree_children(m, nm, 42, 4, 42, kids, 2), -ENOSPC);
	free(m);
	/* duplicates collapse; everything excluded leaves nothing */
	{
		uint32_t dup[] = {5, 5, 3, 3, 3, 9}, all[] = {3, 5, 9};

		assert_int_equal(crt_tree_members(dup, 6, NULL, 0, &m, &nm), 0);
		assert_int_equal(nm, 3);
		assert_int_equal(m[0], 3);
		assert_int_equal(m[2], 9);
		free(m);
		assert_int_equal(crt_tree_members(dup, 6, all, 3, &m, &nm), 0);
		assert_int_equal(nm, 0);
		assert_null(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_exclusions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
