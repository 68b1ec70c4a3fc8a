/*
 * libFuzzer target for the telemetry reader: arbitrary bytes as a tree image (what a hostile
 * or corrupt /dev/shm file could hold) go through daos_tm_decode. It must return an error or
 * a valid JSON document, never crash, leak or read outside the image. Seeds: valid trees in
 * tests/fuzz_seeds_tm (written by the producer, so the fuzzer starts past the header checks).
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daos_telemetry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *json = NULL;
	/* an exact-size heap copy, so ASan catches a read one byte past the image */
	uint8_t *buf = malloc(size ? size : 1);
	int rc;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	rc = daos_tm_decode(buf, size, &json, err, sizeof(err));
	if (rc == 0) {
		json_object *root = json_tokener_parse(json);

		if (root == NULL || json_object_get_type(json_object_object_get(root, "metrics")) !=
					    json_type_array)
			abort(); /* accepted, but not the promised document */
		json_object_put(root);
	} else if (json != NULL || err[0] == '\0') {
		abort(); /* an error must come with a message and no document */
	}
	daos_tm_free(json);
	free(buf);
	return 0;
}
