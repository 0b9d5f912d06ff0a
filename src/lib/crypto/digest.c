/* digest.c -- SHA-1, SHA-256, SHA-512, SHA3-256 and SHAKE-256 over OpenSSL
 * EVP; running digests (tor-spec 6.1 relay-cell digest) and a SHAKE-256 XOF
 * that can be squeezed in pieces (rend-spec-v3 key derivation).
 * See include/allium/lib/crypto/digest.h. */
#include "allium/lib/crypto/digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "allium/lib/malloc/malloc.h"
#include "lib/crypto/keccak.h"

#define LOG_MODULE "crypto"
#include "allium/lib/log/log.h"

struct digest_ctx_t {
  digest_alg_t alg;
  EVP_MD_CTX *md;       /* the running state */
  EVP_MD_CTX *scratch;  /* reused by every peek */
};

struct xof_ctx_t {
  keccak_sponge_t sponge;
};

/* An EVP call that can only fail on memory exhaustion or a broken OpenSSL
 * failed inside a function with no error return: stop rather than go on
 * with a wrong digest. */
static void
digest_fatal(const char *what)
{
  log_err("OpenSSL digest operation failed: %s", what);
  fprintf(stderr, "allium: OpenSSL digest operation failed: %s\n", what);
  abort();
}

/* OpenSSL 3 looks an algorithm up ("fetches" it) every time a context is
 * initialised from EVP_sha256() and friends; fetch each once instead. */
static const EVP_MD *digest_mds[5];
static pthread_once_t digest_mds_once = PTHREAD_ONCE_INIT;

static void
digest_fetch_all(void)
{
  static const char *const names[5] = {
    "SHA1", "SHA256", "SHA512", "SHA3-256", "SHAKE256" };
  const EVP_MD *fallback[5] = {
    EVP_sha1(), EVP_sha256(), EVP_sha512(), EVP_sha3_256(), EVP_shake256() };
  for (int i = 0; i < 5; i++) {
    EVP_MD *md = EVP_MD_fetch(NULL, names[i], NULL);
    digest_mds[i] = md ? md : fallback[i];
  }
}

static const EVP_MD *
digest_md_at(int i)
{
  pthread_once(&digest_mds_once, digest_fetch_all);
  return digest_mds[i];
}

static const EVP_MD *
digest_alg_md(digest_alg_t alg)
{
  switch (alg) {
    case DIGEST_ALG_SHA1: return digest_md_at(0);
    case DIGEST_ALG_SHA256: return digest_md_at(1);
    case DIGEST_ALG_SHA512: return digest_md_at(2);
    case DIGEST_ALG_SHA3_256: return digest_md_at(3);
  }
  return NULL;
}

size_t
digest_alg_len(digest_alg_t alg)
{
  switch (alg) {
    case DIGEST_ALG_SHA1: return DIGEST_SHA1_LEN;
    case DIGEST_ALG_SHA256: return DIGEST_SHA256_LEN;
    case DIGEST_ALG_SHA512: return DIGEST_SHA512_LEN;
    case DIGEST_ALG_SHA3_256: return DIGEST_SHA3_256_LEN;
  }
  return 0;
}

static int
digest_oneshot(const EVP_MD *md, uint8_t *out, const void *m, size_t n)
{
  static const uint8_t empty = 0;
  if (!md || (!m && n))
    return -1;
  if (EVP_Digest(m ? m : &empty, n, out, NULL, md, NULL) != 1)
    return -1;
  return 0;
}

int
digest_sha1(uint8_t out[DIGEST_SHA1_LEN], const void *m, size_t n)
{
  return digest_oneshot(digest_alg_md(DIGEST_ALG_SHA1), out, m, n);
}

int
digest_sha256(uint8_t out[DIGEST_SHA256_LEN], const void *m, size_t n)
{
  return digest_oneshot(digest_alg_md(DIGEST_ALG_SHA256), out, m, n);
}

int
digest_sha512(uint8_t out[DIGEST_SHA512_LEN], const void *m, size_t n)
{
  return digest_oneshot(digest_alg_md(DIGEST_ALG_SHA512), out, m, n);
}

int
digest_sha3_256(uint8_t out[DIGEST_SHA3_256_LEN], const void *m, size_t n)
{
  return digest_oneshot(digest_alg_md(DIGEST_ALG_SHA3_256), out, m, n);
}

int
digest_shake256(uint8_t *out, size_t outlen, const void *m, size_t n)
{
  int r = -1;
  if ((!m && n) || (!out && outlen))
    return -1;
  if (outlen == 0)
    return 0;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md)
    return -1;
  if (EVP_DigestInit_ex(md, digest_md_at(4), NULL) == 1 &&
      (n == 0 || EVP_DigestUpdate(md, m, n) == 1) &&
      EVP_DigestFinalXOF(md, out, outlen) == 1)
    r = 0;
  EVP_MD_CTX_free(md);
  return r;
}

/* ---- running digests ---- */

digest_ctx_t *
digest_ctx_new(digest_alg_t alg)
{
  const EVP_MD *evp = digest_alg_md(alg);
  if (!evp)
    return NULL;
  digest_ctx_t *ctx = al_calloc(1, sizeof(*ctx));
  ctx->alg = alg;
  ctx->md = EVP_MD_CTX_new();
  ctx->scratch = EVP_MD_CTX_new();
  if (!ctx->md || !ctx->scratch || EVP_DigestInit_ex(ctx->md, evp, NULL) != 1)
    digest_fatal("init");
  return ctx;
}

void
digest_ctx_add(digest_ctx_t *ctx, const void *m, size_t n)
{
  if (n == 0)
    return;
  if (EVP_DigestUpdate(ctx->md, m, n) != 1)
    digest_fatal("update");
}

void
digest_ctx_peek(const digest_ctx_t *ctx, uint8_t *out, size_t outlen)
{
  uint8_t buf[EVP_MAX_MD_SIZE];
  size_t len = digest_alg_len(ctx->alg);
  if (outlen > len)
    outlen = len;
  /* Finish a copy of the state; ctx->md itself is never finalised.  The
   * copy is cleansed by the next copy into scratch or by digest_ctx_free(). */
  if (EVP_MD_CTX_copy_ex(ctx->scratch, ctx->md) != 1 ||
      EVP_DigestFinal_ex(ctx->scratch, buf, NULL) != 1)
    digest_fatal("peek");
  for (size_t i = 0; i < outlen; i++)
    out[i] = buf[i];
  memwipe(buf, sizeof(buf));
}

digest_ctx_t *
digest_ctx_dup(const digest_ctx_t *ctx)
{
  digest_ctx_t *d = al_calloc(1, sizeof(*d));
  d->alg = ctx->alg;
  d->md = EVP_MD_CTX_new();
  d->scratch = EVP_MD_CTX_new();
  if (!d->md || !d->scratch || EVP_MD_CTX_copy_ex(d->md, ctx->md) != 1)
    digest_fatal("dup");
  return d;
}

void
digest_ctx_assign(digest_ctx_t *dst, const digest_ctx_t *src)
{
  if (dst == src)
    return;
  if (EVP_MD_CTX_copy_ex(dst->md, src->md) != 1)
    digest_fatal("assign");
  dst->alg = src->alg;
}

void
digest_ctx_free_(digest_ctx_t *ctx)
{
  if (!ctx)
    return;
  /* EVP_MD_CTX_free() resets and cleanses the digest state. */
  EVP_MD_CTX_free(ctx->md);
  EVP_MD_CTX_free(ctx->scratch);
  memwipe(ctx, sizeof(*ctx));
  al_free(ctx);
}

/* ---- SHAKE-256 XOF (own sponge: OpenSSL 3.0 squeezes only once) ---- */

xof_ctx_t *
xof_ctx_new(void)
{
  xof_ctx_t *x = al_malloc(sizeof(*x));
  keccak_sponge_init(&x->sponge, KECCAK_SHAKE256_RATE, KECCAK_SHAKE_DSBYTE);
  return x;
}

void
xof_ctx_add(xof_ctx_t *ctx, const void *m, size_t n)
{
  if (keccak_sponge_absorb(&ctx->sponge, m, n) < 0) {
    /* Caller bug: absorbing after squeezing would give a wrong stream. */
    log_err("xof_ctx_add() called after xof_ctx_squeeze()");
    abort();
  }
}

void
xof_ctx_squeeze(xof_ctx_t *ctx, uint8_t *out, size_t n)
{
  keccak_sponge_squeeze(&ctx->sponge, out, n);
}

void
xof_ctx_free_(xof_ctx_t *ctx)
{
  if (!ctx)
    return;
  al_free_secret(ctx, sizeof(*ctx));
}
