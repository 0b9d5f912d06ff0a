/* hs_service_publish.h -- a service's per-introduction-point setup and its
 * descriptor upload plan (rend-spec-v3 3.1.1 ESTABLISH_INTRO, 3.1.1.1 DoS
 * extension, 2.2.3-2.2.4.2 where descriptors go, 2.2.6 the upload).
 *
 *   hs_service_ip_new()          fresh keys for one introduction point: an
 *       ed25519 auth key (KP_hs_ipt_sid, signs ESTABLISH_INTRO) and an
 *       x25519 enc key (KP_hss_ntor, opens INTRODUCE2), with its own replay
 *       cache (hs_service_intro.h).
 *   hs_service_ip_establish()    the ESTABLISH_INTRO body for it on a
 *       circuit whose last hop (the intro point) has KH kh: with the DoS
 *       extension (rate, burst) when HiddenServiceEnableIntroDoSDefense is 1
 *       in cfg, none otherwise.
 *   hs_service_publish_request() "POST /tor/hs/3/publish HTTP/1.0" with a
 *       Content-Length and the descriptor, for a BEGIN_DIR stream to an
 *       HSDir.
 *   hs_service_publish_targets() the HSDirs among nodes responsible for the
 *       first (second=false) or second descriptor (2.2.4.2:
 *       hs_ring_store_tp_srv) of service identity id: the blinded key of
 *       that descriptor's period, hsdir_spread_store per replica.  The
 *       caller builds the descriptor for the period returned in *tp_out
 *       and uploads it to each node.
 */
#ifndef ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_PUBLISH_H
#define ALLIUM_FEATURE_HS_SERVICE_HS_SERVICE_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/feature/hs_common/hs_ring.h"
#include "allium/feature/hs_service/hs_service_config.h"
#include "allium/feature/hs_service/hs_service_intro.h"
#include "allium/lib/crypto/ed25519.h"

/** One introduction point of a service, as the service holds it. */
typedef struct hs_service_ip_t {
  ed25519_keypair_t auth;          /**< KP_hs_ipt_sid / KS_hs_ipt_sid */
  hs_service_ip_keys_t keys;       /**< auth public key + enc key pair */
  hs_replay_cache_t *replay;       /**< INTRODUCE2 replay cache */
} hs_service_ip_t;

/** Fresh keys and an empty replay cache (never expiring: it lives as long
 * as the intro point).  NULL on failure.  Free with hs_service_ip_free(). */
hs_service_ip_t *hs_service_ip_new(void);
/** Wipes the secret keys. */
void hs_service_ip_free_(hs_service_ip_t *ip);
#define hs_service_ip_free(p) do { hs_service_ip_free_(p); (p) = NULL; } while (0)

/** ESTABLISH_INTRO body for ip at a hop with KH kh under cfg (NULL: no
 * DoS extension).  0 or negative. */
int hs_service_ip_establish(const hs_service_ip_t *ip,
                            const uint8_t kh[HS_CELL_KH_LEN],
                            const hs_service_config_t *cfg, uint8_t *out,
                            size_t outlen, size_t *len_out);

/** The upload request for desc[len] into a new NUL-terminated string
 * (*len_out its length); NULL on bad arguments. */
char *hs_service_publish_request(const char *desc, size_t len,
                                 size_t *len_out);

/** The HSDirs among nodes[0..n_nodes) for the first/second descriptor
 * (see above) into out (at most max), their period in *tp_out.  Returns
 * how many. */
size_t hs_service_publish_targets(const consensus_t *c,
                                  const node_t *const *nodes, size_t n_nodes,
                                  const hs_ring_params_t *p,
                                  const ed25519_public_key_t *id,
                                  bool second, uint64_t *tp_out,
                                  const node_t **out, size_t max);

#endif
