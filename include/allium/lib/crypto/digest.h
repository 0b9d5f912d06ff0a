/* digest.h -- SHA-1, SHA-256, SHA-512, SHA3-256 and SHAKE-256 (over OpenSSL EVP).
 *
 * One-shot functions return 0 or -1.  digest_ctx_t is a running digest (the
 * relay-cell digest of tor-spec 6.1 is one): add data, peek at the digest of
 * everything so far without ending it, copy it.  xof_ctx_t is SHAKE-256 as an
 * extendable-output function: absorb, then squeeze as much as wanted.
 */
#ifndef ALLIUM_LIB_CRYPTO_DIGEST_H
#define ALLIUM_LIB_CRYPTO_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_SHA1_LEN 20
#define DIGEST_SHA256_LEN 32
#define DIGEST_SHA512_LEN 64
#define DIGEST_SHA3_256_LEN 32

typedef enum digest_alg_t {
  DIGEST_ALG_SHA1,
  DIGEST_ALG_SHA256,
  DIGEST_ALG_SHA512,
  DIGEST_ALG_SHA3_256,
} digest_alg_t;

/** Length in bytes of alg's output. */
size_t digest_alg_len(digest_alg_t alg);

int digest_sha1(uint8_t out[DIGEST_SHA1_LEN], const void *m, size_t n);
int digest_sha256(uint8_t out[DIGEST_SHA256_LEN], const void *m, size_t n);
int digest_sha512(uint8_t out[DIGEST_SHA512_LEN], const void *m, size_t n);
int digest_sha3_256(uint8_t out[DIGEST_SHA3_256_LEN], const void *m, size_t n);
/** SHAKE-256 of m, outlen bytes of output. */
int digest_shake256(uint8_t *out, size_t outlen, const void *m, size_t n);

typedef struct digest_ctx_t digest_ctx_t;
/** New running digest; caller frees with digest_ctx_free().  NULL only for an
 * unknown alg.  The void functions below abort if OpenSSL fails (that is out
 * of memory or a broken library, never bad input). */
digest_ctx_t *digest_ctx_new(digest_alg_t alg);
void digest_ctx_add(digest_ctx_t *ctx, const void *m, size_t n);
/** Write the first outlen (<= digest length) bytes of the digest of all data
 * added so far to out; ctx stays usable for more data. */
void digest_ctx_peek(const digest_ctx_t *ctx, uint8_t *out, size_t outlen);
/** Independent copy of ctx; caller frees. */
digest_ctx_t *digest_ctx_dup(const digest_ctx_t *ctx);
/** Make dst's state equal to src's (same algorithm). */
void digest_ctx_assign(digest_ctx_t *dst, const digest_ctx_t *src);
/** Free and wipe ctx; NULL is fine. */
void digest_ctx_free_(digest_ctx_t *ctx);
#define digest_ctx_free(p) do { digest_ctx_free_(p); (p) = NULL; } while (0)

/** A running SHA-1 as a fixed-size value the caller embeds in its own
 * struct (96 bytes, no allocation; OpenSSL's SHA-1 block function does the
 * work).  Copy it by plain assignment.  The relay-cell digest of tor-spec
 * 6.1 uses it for every hop of every circuit, so it must stay small. */
typedef struct digest_sha1_run_t {
  uint64_t opaque_[12];
} digest_sha1_run_t;

/** Start an empty SHA-1. */
void digest_sha1_run_init(digest_sha1_run_t *d);
void digest_sha1_run_add(digest_sha1_run_t *d, const void *m, size_t n);
/** The first outlen (<= 20) bytes of the SHA-1 of everything added so far;
 * d is unchanged. */
void digest_sha1_run_peek(const digest_sha1_run_t *d, uint8_t *out,
                          size_t outlen);
/** Wipe d. */
void digest_sha1_run_clear(digest_sha1_run_t *d);

typedef struct xof_ctx_t xof_ctx_t;
/** New SHAKE-256 context; caller frees with xof_ctx_free(). */
xof_ctx_t *xof_ctx_new(void);
/** Absorb input; must not be called after the first squeeze (doing so is a
 * programming error and aborts). */
void xof_ctx_add(xof_ctx_t *ctx, const void *m, size_t n);
/** Squeeze the next n output bytes.  Successive calls continue the output
 * stream: squeezing 8 then 32 bytes gives the same 40 bytes as squeezing 40
 * (own FIPS 202 sponge, since OpenSSL 3.0 can only finalise once). */
void xof_ctx_squeeze(xof_ctx_t *ctx, uint8_t *out, size_t n);
/** Free and wipe ctx; NULL is fine. */
void xof_ctx_free_(xof_ctx_t *ctx);
#define xof_ctx_free(p) do { xof_ctx_free_(p); (p) = NULL; } while (0)

#endif
