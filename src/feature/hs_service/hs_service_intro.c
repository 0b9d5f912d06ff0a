/* hs_service_intro.c -- the service side of an introduction: open an
 * INTRODUCE2 (rend-spec-v3 3.3 plaintext, 3.3.2 hs-ntor intro keys and
 * MAC), per-intro-point replay cache, and the RENDEZVOUS1 answer with the
 * virtual hop's keys (4.2, 4.2.1).  See hs_service_intro.h. */
#include "allium/feature/hs_service/hs_service_intro.h"

#include <string.h>

#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/malloc/malloc.h"

const char *
hs_intro2_err_name(int err)
{
  switch (err) {
  case HS_INTRO2_OK: return "ok";
  case HS_INTRO2_ERR_ARG: return "bad arguments";
  case HS_INTRO2_ERR_CELL: return "malformed INTRODUCE2";
  case HS_INTRO2_ERR_AUTH_KEY: return "unknown auth key";
  case HS_INTRO2_ERR_MAC: return "MAC does not verify";
  case HS_INTRO2_ERR_REPLAY: return "replayed INTRODUCE2";
  case HS_INTRO2_ERR_FULL: return "replay cache full";
  case HS_INTRO2_ERR_PLAIN: return "malformed plaintext";
  case HS_INTRO2_ERR_RP: return "unusable rendezvous point";
  default: return "unknown error";
  }
}

/* ---- replay cache: open addressing over SHA3-256 digests ---- */

typedef struct replay_slot_t {
  uint8_t d[32];
  int64_t when;
  uint8_t used;
} replay_slot_t;

struct hs_replay_cache_t {
  uint32_t horizon;
  size_t max;
  size_t cap;          /* power of two, >= 2 * max */
  size_t n;            /* used slots (live or expired) */
  replay_slot_t *slot;
};

hs_replay_cache_t *
hs_replay_cache_new(uint32_t horizon_sec, size_t max_entries)
{
  hs_replay_cache_t *c = al_calloc(1, sizeof(*c));
  c->horizon = horizon_sec;
  c->max = max_entries ? max_entries : HS_REPLAY_DEFAULT_MAX;
  c->cap = 16;
  while (c->cap < 2 * c->max)
    c->cap <<= 1;
  c->slot = al_calloc(c->cap, sizeof(*c->slot));
  return c;
}

static int
live(const hs_replay_cache_t *c, const replay_slot_t *s, int64_t now)
{
  return s->used && (c->horizon == 0 || now - s->when < (int64_t)c->horizon);
}

/* Drop expired entries by rebuilding the table (linear probing cannot
 * simply clear a slot). */
static void
replay_purge(hs_replay_cache_t *c, int64_t now)
{
  replay_slot_t *old = c->slot;
  c->slot = al_calloc(c->cap, sizeof(*c->slot));
  c->n = 0;
  for (size_t i = 0; i < c->cap; i++) {
    if (!live(c, &old[i], now))
      continue;
    size_t j = 0;
    memcpy(&j, old[i].d, sizeof(j));
    for (j &= c->cap - 1; c->slot[j].used; j = (j + 1) & (c->cap - 1))
      ;
    c->slot[j] = old[i];
    c->n++;
  }
  al_free(old);
}

int
hs_replay_cache_add(hs_replay_cache_t *c, const uint8_t d[32], int64_t now)
{
  if (!c || !d)
    return HS_INTRO2_ERR_ARG;
  for (int pass = 0; pass < 2; pass++) {
    size_t j = 0;
    memcpy(&j, d, sizeof(j));
    for (j &= c->cap - 1; c->slot[j].used; j = (j + 1) & (c->cap - 1)) {
      if (memcmp(c->slot[j].d, d, 32) == 0) {
        if (live(c, &c->slot[j], now))
          return HS_INTRO2_ERR_REPLAY;
        c->slot[j].when = now;   /* expired: a fresh entry */
        return 0;
      }
    }
    if (c->n < c->max) {
      memcpy(c->slot[j].d, d, 32);
      c->slot[j].when = now;
      c->slot[j].used = 1;
      c->n++;
      return 0;
    }
    if (pass == 0 && c->horizon)
      replay_purge(c, now);
    else
      break;
  }
  return HS_INTRO2_ERR_FULL;
}

size_t
hs_replay_cache_size(const hs_replay_cache_t *c)
{
  return c ? c->n : 0;
}

void
hs_replay_cache_free_(hs_replay_cache_t *c)
{
  if (!c)
    return;
  al_free(c->slot);
  al_free(c);
}

/* ---- INTRODUCE2 ---- */

/* Hop spec of the rendezvous point from the plaintext: the first IPv4
 * address and legacy id are required, ed25519 id and IPv6 used if given. */
static int
rp_spec(const hs_intro2_plain_t *p, circ_hop_spec_t *out)
{
  int v4 = 0, v6 = 0, legacy = 0;
  memset(out, 0, sizeof(*out));
  for (size_t i = 0; i < p->n_spec; i++) {
    const relay_lspec_t *l = &p->spec[i];
    if (l->type == RELAY_LSPEC_IPV4 && !v4) {
      out->addr[0] = *l;
      v4 = 1;
    } else if (l->type == RELAY_LSPEC_IPV6 && !v6) {
      out->addr[1] = *l;
      v6 = l->u.ipv6.port != 0;
    } else if (l->type == RELAY_LSPEC_LEGACY_ID && !legacy) {
      memcpy(out->rsa_id, l->u.legacy_id, RELAY_LEGACY_ID_LEN);
      legacy = 1;
    } else if (l->type == RELAY_LSPEC_ED25519_ID && !out->has_ed_id) {
      memcpy(out->ed_id, l->u.ed25519_id, RELAY_ED25519_ID_LEN);
      out->has_ed_id = true;
    }
  }
  if (!v4 || !legacy || out->addr[0].u.ipv4.port == 0)
    return -1;
  out->n_addr = v6 ? 2 : 1;
  if (!v6)
    memset(&out->addr[1], 0, sizeof(out->addr[1]));
  memcpy(out->ntor_key, p->onion_key, sizeof(out->ntor_key));
  return 0;
}

/* Which subcredential's MAC verifies; its keys into *k.  -1 if none. */
static int
find_subcred(hs_ntor_intro_keys_t *k, const hs_service_ip_keys_t *ip,
             const uint8_t (*subcreds)[32], size_t n,
             const hs_introduce1_t *m, const uint8_t *body, size_t *idx)
{
  uint8_t mac[HS_NTOR_MAC_LEN];
  int found = -1;
  for (size_t i = 0; i < n && found < 0; i++) {
    if (hs_ntor_service_intro_keys(k, &ip->enc, m->client_pk, ip->auth_key,
                                   subcreds[i]) < 0)
      continue;
    if (hs_ntor_mac(mac, k->mac_key, sizeof(k->mac_key), body,
                    m->mac_covered_len) == 0 &&
        crypto_memeq(mac, m->mac, HS_NTOR_MAC_LEN)) {
      *idx = i;
      found = 0;
    }
  }
  if (found < 0)
    memwipe(k, sizeof(*k));
  memwipe(mac, sizeof(mac));
  return found;
}

static int
open_checked(hs_service_intro2_t *out, const hs_service_ip_keys_t *ip,
             const uint8_t (*subcreds)[32], size_t n_subcred,
             hs_replay_cache_t *rc, int64_t now, const uint8_t *body,
             size_t len, hs_introduce1_t *m, hs_intro2_plain_t *p)
{
  hs_ntor_intro_keys_t k;
  uint8_t d[32];
  size_t idx = 0;
  if (hs_introduce1_decode(m, body, len) < 0)
    return HS_INTRO2_ERR_CELL;
  if (!crypto_memeq(m->auth_key, ip->auth_key, HS_CELL_AUTH_KEY_LEN))
    return HS_INTRO2_ERR_AUTH_KEY;
  if (find_subcred(&k, ip, subcreds, n_subcred, m, body, &idx) < 0)
    return HS_INTRO2_ERR_MAC;
  int e = 0;
  if (rc) {
    digest_sha3_256(d, m->encrypted, m->encrypted_len);
    e = hs_replay_cache_add(rc, d, now);
  }
  if (e < 0) {
    memwipe(&k, sizeof(k));
    return e;
  }
  uint8_t *plain = al_malloc(m->enc_data_len ? m->enc_data_len : 1);
  memcpy(plain, m->enc_data, m->enc_data_len);
  e = hs_ntor_intro_crypt(&k, plain, m->enc_data_len) == 0 &&
      hs_intro2_plain_decode(p, plain, m->enc_data_len) == 0
      ? 0 : HS_INTRO2_ERR_PLAIN;
  if (e == 0 && rp_spec(p, &out->rp) < 0)
    e = HS_INTRO2_ERR_RP;
  if (e == 0) {
    memcpy(out->cookie, p->cookie, HS_CELL_COOKIE_LEN);
    memcpy(out->client_pk, m->client_pk, 32);
    out->subcred_index = idx;
    /* Proposal 324 9.2: the client asks for congestion control (an empty
     * extension; a body, which no version defines, is ignored). */
    out->cc_requested =
        hs_cell_exts_find(&p->exts, HS_EXT_INTRO2_CC_REQUEST) != NULL;
  }
  memwipe(plain, m->enc_data_len ? m->enc_data_len : 1);
  al_free(plain);
  memwipe(&k, sizeof(k));
  return e;
}

int
hs_service_intro2_open(hs_service_intro2_t *out,
                       const hs_service_ip_keys_t *ip,
                       const uint8_t (*subcreds)[32], size_t n_subcred,
                       hs_replay_cache_t *rc, int64_t now,
                       const uint8_t *body, size_t len)
{
  if (!out)
    return HS_INTRO2_ERR_ARG;
  memset(out, 0, sizeof(*out));
  if (!ip || !subcreds || !n_subcred || (!body && len))
    return HS_INTRO2_ERR_ARG;
  hs_introduce1_t *m = al_calloc(1, sizeof(*m));
  hs_intro2_plain_t *p = al_calloc(1, sizeof(*p));
  int e = open_checked(out, ip, subcreds, n_subcred, rc, now, body, len, m,
                       p);
  if (e < 0)
    memwipe(out, sizeof(*out));
  memwipe(p, sizeof(*p));
  al_free(p);
  al_free(m);
  return e;
}

int
hs_service_rend1_build(const hs_service_ip_keys_t *ip,
                       const hs_service_intro2_t *in,
                       uint8_t out[HS_SERVICE_REND1_LEN],
                       uint8_t keys[CIRC_ORIGIN_HS_KEYS_LEN])
{
  x25519_keypair_t y;
  hs_ntor_rend_keys_t k;
  int r = -1;
  if (!ip || !in || !out || !keys)
    return -1;
  if (x25519_keypair_generate(&y) == 0 &&
      hs_ntor_service_rend_keys(&k, &ip->enc, &y, in->client_pk,
                                ip->auth_key) == 0 &&
      hs_ntor_key_expansion(keys, k.ntor_key_seed) == 0) {
    memcpy(out, in->cookie, HS_CELL_COOKIE_LEN);
    memcpy(out + HS_CELL_COOKIE_LEN, y.pub, 32);
    memcpy(out + HS_CELL_COOKIE_LEN + 32, k.auth_input_mac, HS_NTOR_MAC_LEN);
    r = 0;
  }
  if (r < 0) {
    memwipe(out, HS_SERVICE_REND1_LEN);
    memwipe(keys, CIRC_ORIGIN_HS_KEYS_LEN);
  }
  memwipe(&y, sizeof(y));
  memwipe(&k, sizeof(k));
  return r;
}
