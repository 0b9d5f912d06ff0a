/* hs_desc_inner.h -- the plaintexts of the two encrypted layers of a v3
 * onion service descriptor and the entry points that decrypt-and-parse or
 * build-and-encrypt them (rend-spec-v3 2.5.1.2, 2.5.1.4, 2.5.2.2, 2.5.4).
 *
 * First layer (hs_desc_layer1_*): desc-auth-type x25519,
 * desc-auth-ephemeral-key, auth-client lines, and the "encrypted" MESSAGE
 * object holding the second-layer blob.  Second layer (hs_desc_layer2_*):
 * create2-formats, intro-auth-required, single-onion-service, flow-control
 * (proposal 324), pow-params (proposal 327; kept, not acted on) and up to 20
 * introduction points.  The outer descriptor layer is elsewhere
 * (src/feature/dirparse/hs_desc_outer.c); here the superencrypted blob is
 * taken and returned as bytes.  Errors are the HS_DESC_ERR_* of
 * hs_desc_crypt.h.
 */
#ifndef ALLIUM_FEATURE_HS_COMMON_HS_DESC_INNER_H
#define ALLIUM_FEATURE_HS_COMMON_HS_DESC_INNER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/core/channel/torcert.h"
#include "allium/feature/dirparse/netdoc.h"
#include "allium/feature/hs_common/hs_desc_crypt.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/x25519.h"

#define HS_DESC_MAX_INTRO_POINTS 20
/** auth-client lines come in multiples of this (2.5.1.4); a descriptor
 * without client authorization carries this many fake ones. */
#define HS_DESC_AUTH_CLIENT_MULTIPLE 16
/** Most auth-client lines a parser accepts (the 50k size limit allows
 * about 600). */
#define HS_DESC_MAX_AUTH_CLIENTS 1024
#define HS_DESC_CREATE2_MAX_FORMATS 16
/** Largest link specifier block (NSPEC | specs) we accept: what fits in an
 * EXTEND2 cell with no handshake. */
#define HS_DESC_LSPECS_MAX 490
#define HS_DESC_POW_SEED_LEN 32

/* ---- first layer (2.5.1.2) ---- */

typedef struct hs_desc_auth_client_t {
  uint8_t client_id[HS_CLIENT_ID_LEN];
  uint8_t iv[HS_CLIENT_AUTH_IV_LEN];
  uint8_t encrypted_cookie[HS_DESC_COOKIE_LEN];
} hs_desc_auth_client_t;

typedef struct hs_desc_layer1_t {
  uint8_t ephemeral_key[X25519_KEY_LEN];   /* KP_hss_desc_enc */
  size_t n_clients;
  hs_desc_auth_client_t *clients;          /* owned, n_clients entries */
  uint8_t *encrypted;                      /* second-layer blob, owned */
  size_t encrypted_len;
} hs_desc_layer1_t;

/** Parse a first-layer plaintext (s[0..len); the final newline may be
 * missing, as C tor omits it).  *out: new layer, caller frees.  0,
 * HS_DESC_ERR_SYNTAX or HS_DESC_ERR_LIMIT; err (may be NULL) names the line. */
int hs_desc_layer1_parse(const char *s, size_t len, hs_desc_layer1_t **out,
                         netdoc_err_t *err);
/** Build the text of l (no final newline, as C tor).  *out: new
 * NUL-terminated string of *outlen bytes.  0 or HS_DESC_ERR_ARG/LIMIT. */
int hs_desc_layer1_build(const hs_desc_layer1_t *l, char **out, size_t *outlen);
void hs_desc_layer1_free_(hs_desc_layer1_t *l);
#define hs_desc_layer1_free(p) do { hs_desc_layer1_free_(p); (p) = NULL; } while (0)

/** Fill l's auth-client lines for the service: one real line per client
 * public key (the descriptor cookie encrypted to it with the ephemeral
 * secret key), then random fake lines up to the next multiple of 16 (16
 * when there are no clients), in random order.  Replaces l->clients. */
int hs_desc_layer1_set_clients(hs_desc_layer1_t *l, const uint8_t ephemeral_secret[32],
                               const uint8_t (*client_pubs)[X25519_KEY_LEN],
                               size_t n_clients, const uint8_t subcred[HS_DIGEST_LEN],
                               const uint8_t cookie[HS_DESC_COOKIE_LEN]);

/** Client side: find our auth-client line (by client-id, constant time per
 * line) and decrypt the descriptor cookie into cookie_out.  0, or
 * HS_DESC_ERR_AUTH when no line is ours. */
int hs_desc_layer1_find_cookie(const hs_desc_layer1_t *l, const uint8_t client_secret[32],
                               const uint8_t subcred[HS_DIGEST_LEN],
                               uint8_t cookie_out[HS_DESC_COOKIE_LEN]);

/* ---- second layer (2.5.2.2) ---- */

typedef struct hs_desc_intro_point_t {
  uint8_t *lspecs;                 /* NSPEC | link specifiers, verbatim, owned */
  size_t lspecs_len;
  uint8_t onion_key[X25519_KEY_LEN];   /* "onion-key ntor" */
  uint8_t enc_key[X25519_KEY_LEN];     /* "enc-key ntor" (KP_hss_ntor) */
  torcert_t *auth_key_cert;        /* type 09: certified key = KP_hs_ipt_sid */
  torcert_t *enc_key_cert;         /* type 0B: certifies ed25519(enc_key) */
} hs_desc_intro_point_t;

typedef struct hs_desc_layer2_t {
  uint8_t n_create2_formats;
  uint16_t create2_formats[HS_DESC_CREATE2_MAX_FORMATS];
  int has_intro_auth_required;
  int intro_auth_ed25519;          /* "ed25519" listed in intro-auth-required */
  int single_onion_service;
  int has_flow_control;
  char flow_control_versions[32];  /* e.g. "1-2" */
  uint8_t flow_control_sendme_inc;
  int has_pow_v1;                  /* a "pow-params v1" line */
  uint8_t pow_seed[HS_DESC_POW_SEED_LEN];
  uint32_t pow_suggested_effort;
  time_t pow_expiration;
  size_t n_intro;
  hs_desc_intro_point_t intro[HS_DESC_MAX_INTRO_POINTS];
} hs_desc_layer2_t;

/** Parse a second-layer plaintext.  With signing_key (KP_hs_desc_sign,
 * from the outer layer's descriptor-signing-key-cert) each intro point's
 * certificates must be of the right type, carry signing_key in their
 * signed-with-key extension, be signed by it and not be expired at now; the
 * enc-key-cert must certify the ed25519 form of enc-key.  signing_key NULL
 * skips the signature and expiry checks (fuzzing, tools).  More than 20
 * introduction points: HS_DESC_ERR_LIMIT.  *out: caller frees. */
int hs_desc_layer2_parse(const char *s, size_t len, const ed25519_public_key_t *signing_key,
                         time_t now, hs_desc_layer2_t **out, netdoc_err_t *err);
/** Build the text of l (ends with a newline).  *out: new NUL-terminated
 * string.  0, HS_DESC_ERR_ARG (missing certificate, bad link specifiers)
 * or HS_DESC_ERR_LIMIT. */
int hs_desc_layer2_build(const hs_desc_layer2_t *l, char **out, size_t *outlen);
void hs_desc_layer2_free_(hs_desc_layer2_t *l);
#define hs_desc_layer2_free(p) do { hs_desc_layer2_free_(p); (p) = NULL; } while (0)

/** Service side: fill intro point ip (whose keys the caller has set) with
 * a copy of the link specifiers of m (its handshake is ignored) and with
 * the two certificates, signed by signing_kp and valid for lifetime seconds
 * from now; the auth-key certificate certifies auth_key.  0 or negative. */
int hs_desc_intro_point_init(hs_desc_intro_point_t *ip, const relay_extend2_t *m,
                             const ed25519_public_key_t *auth_key,
                             const ed25519_keypair_t *signing_kp, time_t now,
                             time_t lifetime);
/** Decode ip's link specifiers into m (handshake fields zero).  0 or
 * HS_DESC_ERR_SYNTAX. */
int hs_desc_intro_point_lspecs(const hs_desc_intro_point_t *ip, relay_extend2_t *m);

/* ---- whole inner part ---- */

/** Client: decrypt the superencrypted blob of a descriptor with the given
 * revision counter for blinded key / subcredential, parse the first layer,
 * find the descriptor cookie when client_secret (our x25519 client-auth key)
 * is given, decrypt and parse the second layer (certificates checked
 * against signing_key at now, as hs_desc_layer2_parse()).  *out: caller
 * frees.  HS_DESC_ERR_AUTH when the second layer does not open without a
 * key we lack (no key given, or none of the auth-client lines is ours). */
int hs_desc_decrypt_inner(const uint8_t *superenc, size_t len, uint64_t revision_counter,
                          const ed25519_public_key_t *blinded_pk,
                          const uint8_t subcred[HS_DIGEST_LEN], const uint8_t *client_secret,
                          const ed25519_public_key_t *signing_key, time_t now,
                          hs_desc_layer2_t **out, netdoc_err_t *err);

/** Service: build and encrypt the second layer l2, wrap it in a first
 * layer with a fresh ephemeral key and auth-client lines (real ones for
 * client_pubs with a fresh descriptor cookie when n_clients > 0, fakes
 * otherwise), and encrypt that.  *out: the superencrypted blob, caller
 * frees.  0 or negative. */
int hs_desc_encrypt_inner(uint8_t **out, size_t *outlen, const hs_desc_layer2_t *l2,
                          uint64_t revision_counter, const ed25519_public_key_t *blinded_pk,
                          const uint8_t subcred[HS_DIGEST_LEN],
                          const uint8_t (*client_pubs)[X25519_KEY_LEN], size_t n_clients);

#endif
