/* vectors.h -- load known-answer vector files from ../shared/testvectors/
 * (or $ALLIUM_TESTVECTORS) for criterion tests.
 *
 *   json_t *doc = vectors_load("hkdf_sha256.json");   // cr_assert_fail if missing
 *   const json_t *arr = json_get(doc, "vectors");
 *   uint8_t *ikm; size_t ikmlen = vectors_hex(json_at(arr, 0), "ikm", &ikm);
 */
#ifndef ALLIUM_TESTS_VECTORS_H
#define ALLIUM_TESTS_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "helpers/json.h"

/** Read and parse a vector file; fails the current test if it can't. */
json_t *vectors_load(const char *filename);
/** Decode the lowercase-hex string field key of obj into a new buffer
 * (*out, caller frees with free()); returns its length.  Fails the current
 * test if the field is missing or not hex. */
size_t vectors_hex(const json_t *obj, const char *key, uint8_t **out);
/** Decode field key into exactly len bytes at out; fails the test on length
 * mismatch. */
void vectors_hex_fixed(const json_t *obj, const char *key, uint8_t *out, size_t len);
/** Read a whole file into a NUL-terminated buffer (caller frees); NULL on error. */
char *vectors_read_file(const char *path, size_t *len_out);
/** Directory holding the vector files. */
const char *vectors_dir(void);

#endif
