/* hs_service_desc.h -- a service's v3 descriptor for one time period
 * (rend-spec-v3 2.4-2.5, appendix A.2 key blinding, appendix F revision
 * counters): the blinded key pair of the period, a fresh descriptor-signing
 * key with its type-08 certificate signed by the blinded key, the
 * introduction points with type-09 / type-0B certificates signed by the
 * descriptor-signing key, auth-client lines for the authorized clients, the
 * two encrypted layers and the signed outer layer.
 *
 * Revision counter (appendix F.2, "encrypted time in period", which tor uses
 * with an order-preserving encryption of the same kind): T = seconds since
 * the start of the shared-random run whose value the period uses (the
 * period's start minus the rotation offset) plus 1, clamped to
 * [1, period length + offset]; K = SHA3-256("rev-counter-generation" | S)
 * with S the blinded secret key (64 bytes); the counter is the sum of the
 * first T little-endian 16-bit words of AES-256-CTR(K, IV 0).  It grows
 * with time, needs no state across restarts, does not reveal the time
 * directly and starts afresh with each blinded key.
 */
#ifndef ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_DESC_H
#define ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_DESC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/x25519.h"

/** One introduction point as the service knows it. */
typedef struct hs_service_intro_t {
  const relay_extend2_t *lspecs;     /* the intro point's link specifiers */
  uint8_t onion_key[X25519_KEY_LEN]; /* its ntor onion key */
  ed25519_public_key_t auth_key;     /* KP_hs_ipt_sid, our key at that point */
  uint8_t enc_key[X25519_KEY_LEN];   /* KP_hss_ntor, our INTRODUCE2 key */
} hs_service_intro_t;

typedef struct hs_service_desc_params_t {
  const ed25519_keypair_t *identity; /* KP_hs_id (the onion address key) */
  uint64_t period_num;
  uint64_t period_length;            /* minutes (0: 1440) */
  uint64_t rotation_offset;          /* minutes (0: 720) */
  time_t now;
  uint32_t lifetime_min;             /* descriptor-lifetime (0: 180) */
  const hs_service_intro_t *intro;
  size_t n_intro;                    /* 0..20 */
  const uint8_t (*client_pubs)[X25519_KEY_LEN];  /* authorized clients */
  size_t n_clients;                  /* 0: no client authorization */
  int single_onion;                  /* "single-onion-service" */
  uint8_t flow_control_sendme_inc;   /* nonzero: "flow-control 1-2 INC" */
  int fixed_revision;                /* tests: use revision_counter as is */
  uint64_t revision_counter;
} hs_service_desc_params_t;

/** A built descriptor. */
typedef struct hs_service_desc_t {
  char *text;                        /* NUL-terminated document, owned */
  size_t len;
  ed25519_public_key_t blinded_key;  /* where HSDirs index it */
  uint8_t subcredential[HS_DIGEST_LEN];
  uint64_t revision_counter;
} hs_service_desc_t;

/** Build and sign the descriptor of p->identity for p->period_num.  *out:
 * new descriptor, caller frees.  0 or negative (HS_DESC_ERR_ARG for bad
 * parameters, HS_DESC_ERR_LIMIT when it would exceed 50000 bytes, other
 * HS_DESC_ERR_* / DIRPARSE_ERR_* from the layers). */
int hs_service_desc_build(const hs_service_desc_params_t *p, hs_service_desc_t **out);

void hs_service_desc_free_(hs_service_desc_t *d);
#define hs_service_desc_free(p) do { hs_service_desc_free_(p); (p) = NULL; } while (0)

/** Revision counter (appendix F.2, see above) for blinded key pair bk in
 * the period starting at period_start (unix time) with rotation offset
 * offset_min and length length_min, at now. */
uint64_t hs_service_rev_counter(const ed25519_keypair_t *bk, int64_t period_start,
                                uint64_t length_min, uint64_t offset_min, time_t now);

#endif
