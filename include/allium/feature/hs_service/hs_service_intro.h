/* hs_service_intro.h -- the service side of an introduction (rend-spec-v3
 * 3.3, 3.3.2, 4.2, 4.2.1): what the service does with an INTRODUCE2 that
 * arrives on one of its introduction circuits, up to the RENDEZVOUS1 it
 * sends from the rendezvous point and the keys of the virtual hop.
 *
 *   hs_service_intro2_open()  decode the cell, check that AUTH_KEY is this
 *       intro point's, derive the hs-ntor intro keys (the intro point's
 *       enc key pair b, the client's X, AUTH_KEY, a subcredential: each of
 *       the service's live descriptors has its own, so every given one is
 *       tried), check the MAC (constant time) over the cell up to the MAC,
 *       consult the intro point's replay cache, decrypt and decode the
 *       plaintext (cookie, rendezvous point's ntor key, link specifiers),
 *       turn it into a hop spec for a circuit to the rendezvous point.
 *   hs_service_rend1_build()  a fresh y, the hs-ntor service rendezvous
 *       keys, the RENDEZVOUS1 body (cookie | Y | AUTH_INPUT_MAC) and the
 *       128 key bytes Df|Db|Kf|Kb for circ_origin_add_virtual_hop(...,
 *       service side).
 *
 * Replay cache: one per introduction point, keyed by SHA3-256 of the
 * ENCRYPTED section (CLIENT_PK | ENCRYPTED_DATA | MAC), filled only by
 * cells whose MAC verified (so nobody without the subcredential can fill
 * it).  An entry lives for horizon_sec (0: as long as the cache, i.e. the
 * introduction point).  A cache holds at most max_entries; when it is full
 * of live entries every further cell is refused (HS_INTRO2_ERR_FULL): the
 * caller replaces the introduction point, as tor rotates one after a
 * bounded number of introductions.  Nothing is logged here; callers log
 * rate-limited and without keys or cookies.
 */
#ifndef ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_INTRO_H
#define ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_INTRO_H

#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/hs_cells.h"
#include "allium/core/circuit/circuit_origin.h"
#include "allium/core/onion/onion_hs_ntor.h"
#include "allium/lib/crypto/x25519.h"

typedef enum hs_intro2_err_t {
  HS_INTRO2_OK = 0,
  HS_INTRO2_ERR_ARG = -1,      /**< bad arguments */
  HS_INTRO2_ERR_CELL = -2,     /**< the outer cell does not decode */
  HS_INTRO2_ERR_AUTH_KEY = -3, /**< AUTH_KEY is not this intro point's */
  HS_INTRO2_ERR_MAC = -4,      /**< no subcredential verifies the MAC */
  HS_INTRO2_ERR_REPLAY = -5,   /**< seen before at this intro point */
  HS_INTRO2_ERR_FULL = -6,     /**< replay cache full: rotate the point */
  HS_INTRO2_ERR_PLAIN = -7,    /**< plaintext does not decode */
  HS_INTRO2_ERR_RP = -8,       /**< no IPv4 address / legacy id for the RP */
} hs_intro2_err_t;

/** Static name of an hs_intro2_err_t, for logs. */
const char *hs_intro2_err_name(int err);

/* ---- replay cache ---- */

typedef struct hs_replay_cache_t hs_replay_cache_t;

#define HS_REPLAY_DEFAULT_MAX 32768

/** New empty cache (max_entries 0: HS_REPLAY_DEFAULT_MAX). */
hs_replay_cache_t *hs_replay_cache_new(uint32_t horizon_sec,
                                       size_t max_entries);
/** Record digest d at time now: 0 if new, HS_INTRO2_ERR_REPLAY if a live
 * entry has it, HS_INTRO2_ERR_FULL if there is no room. */
int hs_replay_cache_add(hs_replay_cache_t *c, const uint8_t d[32],
                        int64_t now);
/** Live entries. */
size_t hs_replay_cache_size(const hs_replay_cache_t *c);
void hs_replay_cache_free_(hs_replay_cache_t *c);
#define hs_replay_cache_free(p) \
  do { hs_replay_cache_free_(p); (p) = NULL; } while (0)

/* ---- INTRODUCE2 ---- */

/** What the service knows of one of its introduction points. */
typedef struct hs_service_ip_keys_t {
  uint8_t auth_key[HS_CELL_AUTH_KEY_LEN];   /**< KP_hs_ipt_sid (public) */
  x25519_keypair_t enc;                     /**< KP_hss_ntor / KS_hss_ntor */
} hs_service_ip_keys_t;

/** An opened INTRODUCE2. */
typedef struct hs_service_intro2_t {
  uint8_t cookie[HS_CELL_COOKIE_LEN];
  uint8_t client_pk[32];                    /**< X */
  circ_hop_spec_t rp;                       /**< the rendezvous point */
  size_t subcred_index;                     /**< which one verified */
  /** The plaintext carried the congestion control request extension
   * (HS_EXT_INTRO2_CC_REQUEST, proposal 324 9.2). */
  bool cc_requested;
} hs_service_intro2_t;

/** Open INTRODUCE2 body[len] received at the intro point with keys ip,
 * trying the n_subcred subcredentials in order, with replay cache rc (may
 * be NULL only in tools: no replay protection) at time now.  *out filled
 * on success, zeroed on error.  HS_INTRO2_OK or an hs_intro2_err_t. */
int hs_service_intro2_open(hs_service_intro2_t *out,
                           const hs_service_ip_keys_t *ip,
                           const uint8_t (*subcreds)[32], size_t n_subcred,
                           hs_replay_cache_t *rc, int64_t now,
                           const uint8_t *body, size_t len);

/** RENDEZVOUS1 body length: cookie | Y | AUTH_INPUT_MAC. */
#define HS_SERVICE_REND1_LEN (HS_CELL_COOKIE_LEN + HS_NTOR_HANDSHAKE_INFO_LEN)

/** The answer to an opened INTRODUCE2 in: RENDEZVOUS1 into out (room for
 * HS_SERVICE_REND1_LEN) and the virtual hop's keys.  0 or -1 (keys and out
 * zeroed). */
int hs_service_rend1_build(const hs_service_ip_keys_t *ip,
                           const hs_service_intro2_t *in,
                           uint8_t out[HS_SERVICE_REND1_LEN],
                           uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN]);

#endif
