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
/** Compare len bytes at got with field key of obj (hex); fails the current
 * test naming the field when the length or any bit differs. */
void vectors_check_hex(const json_t *obj, const char *key, const uint8_t *got, size_t len);
/** Decode a hex literal written in a test into out (at most outlen bytes);
 * fails the test on bad hex; returns the number of bytes. */
size_t test_unhex(const char *hex, uint8_t *out, size_t outlen);
/** Fail the test unless len bytes at got equal the hex literal. */
void test_expect_hex(const uint8_t *got, size_t len, const char *hex);

/** Read a whole file into a NUL-terminated buffer (caller frees); NULL on error. */
char *vectors_read_file(const char *path, size_t *len_out);
/** Directory holding the vector files. */
const char *vectors_dir(void);

#endif
