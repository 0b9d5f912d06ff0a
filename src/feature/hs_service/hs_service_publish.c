/* hs_service_publish.c -- a service's introduction point keys and
 * ESTABLISH_INTRO (rend-spec-v3 3.1.1, DoS extension 3.1.1.1), and where
 * and how its descriptors are uploaded (2.2.3, 2.2.4.2, 2.2.6).  See
 * hs_service_publish.h. */
#include "allium/feature/hs_service/hs_service_publish.h"

#include <stdio.h>
#include <string.h>

#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/lib/malloc/malloc.h"

hs_service_ip_t *
hs_service_ip_new(void)
{
  hs_service_ip_t *ip = al_calloc(1, sizeof(*ip));
  if (ed25519_keypair_generate(&ip->auth) < 0 ||
      x25519_keypair_generate(&ip->keys.enc) < 0) {
    hs_service_ip_free(ip);
    return NULL;
  }
  memcpy(ip->keys.auth_key, ip->auth.pub.pubkey, HS_CELL_AUTH_KEY_LEN);
  ip->replay = hs_replay_cache_new(0, 0);
  return ip;
}

void
hs_service_ip_free_(hs_service_ip_t *ip)
{
  if (!ip)
    return;
  hs_replay_cache_free(ip->replay);
  memwipe(ip, sizeof(*ip));
  al_free(ip);
}

int
hs_service_ip_establish(const hs_service_ip_t *ip,
                        const uint8_t kh[HS_CELL_KH_LEN],
                        const hs_service_config_t *cfg, uint8_t *out,
                        size_t outlen, size_t *len_out)
{
  uint8_t dos[32];
  size_t dlen = 0;
  if (!ip || !kh || !out || !len_out)
    return -1;
  hs_cell_exts_t *ex = al_calloc(1, sizeof(*ex));
  int r = 0;
  if (cfg && cfg->intro_dos_enabled) {
    r = hs_intro_dos_ext_encode(cfg->intro_dos_rate, cfg->intro_dos_burst,
                                dos, sizeof(dos), &dlen);
    ex->n = 1;
    ex->ext[0].type = HS_EXT_ESTABLISH_INTRO_DOS;
    ex->ext[0].len = (uint8_t)dlen;
    ex->ext[0].data = dos;
  }
  if (r == 0)
    r = hs_establish_intro_build(&ip->auth, kh, ex, out, outlen, len_out);
  al_free(ex);
  return r < 0 ? -1 : 0;
}

char *
hs_service_publish_request(const char *desc, size_t len, size_t *len_out)
{
  char head[96];
  if (!desc || !len_out || len == 0)
    return NULL;
  int h = snprintf(head, sizeof(head),
                   "POST /tor/hs/3/publish HTTP/1.0\r\n"
                   "Content-Length: %zu\r\n\r\n", len);
  if (h < 0 || (size_t)h >= sizeof(head))
    return NULL;
  char *req = al_malloc((size_t)h + len + 1);
  memcpy(req, head, (size_t)h);
  memcpy(req + h, desc, len);
  req[(size_t)h + len] = '\0';
  *len_out = (size_t)h + len;
  return req;
}

size_t
hs_service_publish_targets(const consensus_t *c,
                           const node_t *const *nodes, size_t n_nodes,
                           const hs_ring_params_t *p,
                           const ed25519_public_key_t *id, bool second,
                           uint64_t *tp_out, const node_t **out, size_t max)
{
  uint8_t srv[32];
  uint64_t tp = 0;
  ed25519_public_key_t blinded;
  if (!nodes || !p || !id || !tp_out || !out)
    return 0;
  hs_ring_store_tp_srv(c, p, second, &tp, srv);
  *tp_out = tp;
  if (hs_blind_public_key(&blinded, id, NULL, 0, tp, p->period_length) < 0)
    return 0;
  hs_ring_t *r = hs_ring_build(nodes, n_nodes, srv, tp, p);
  if (!r)
    return 0;
  size_t n = hs_ring_responsible(r, &blinded, tp, p, p->spread_store, out,
                                 max);
  hs_ring_free(r);
  return n;
}
