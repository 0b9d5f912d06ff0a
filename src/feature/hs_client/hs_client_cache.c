/* hs_client_cache.c -- opening a fetched onion-service descriptor
 * (rend-spec-v3 2.4, 2.5, 2.5.1.2) and the client's descriptor / failure
 * cache.  See hs_client_cache.h.
 */
#include <string.h>

#include "allium/feature/dirparse/hs_desc_outer.h"
/* hs_desc_outer.h and hs_desc_crypt.h both define HS_DESC_ERR_CERT (with
 * different values); only the outer layer's WRONG_KEY / EXPIRED codes are
 * used here. */
#undef HS_DESC_ERR_CERT
#include "allium/feature/hs_client/hs_client_cache.h"
#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/proxy/socks.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/malloc/malloc.h"

hs_client_desc_status_t
hs_client_desc_open(const char *s, size_t len, size_t max_len,
                    const ed25519_public_key_t *service_pk,
                    uint64_t period_num, uint64_t period_length,
                    const uint8_t *client_secret, time_t now,
                    hs_client_desc_t **out, const char **why)
{
  const char *dummy;
  if (!why)
    why = &dummy;
  *why = NULL;
  if (out)
    *out = NULL;
  if (!s || !service_pk || !out) {
    *why = "bad arguments";
    return HS_CLIENT_DESC_INVALID;
  }
  ed25519_public_key_t blinded;
  if (hs_blind_public_key(&blinded, service_pk, NULL, 0, period_num,
                          period_length) != 0) {
    *why = "cannot blind the service key";
    return HS_CLIENT_DESC_INVALID;
  }
  hs_desc_outer_t *outer = NULL;
  netdoc_err_t err;
  memset(&err, 0, sizeof(err));
  int rv = hs_desc_outer_parse(s, len, max_len, &blinded, now, &outer, &err);
  if (rv != 0) {
    *why = rv == HS_DESC_ERR_WRONG_KEY ? "signed by another blinded key"
         : rv == HS_DESC_ERR_EXPIRED ? "expired signing-key certificate"
         : "outer layer does not verify";
    return HS_CLIENT_DESC_INVALID;
  }
  hs_client_desc_t *d = al_calloc(1, sizeof(*d));
  d->service_pk = *service_pk;
  d->blinded_pk = blinded;
  d->period_num = period_num;
  d->period_length = period_length;
  d->revision_counter = outer->revision_counter;
  (void)hs_subcredential_from_identity(d->subcred, service_pk, &blinded);
  rv = hs_desc_decrypt_inner(outer->superencrypted, outer->superencrypted_len,
                             outer->revision_counter, &blinded, d->subcred,
                             client_secret, &outer->signing_key, now,
                             &d->layer2, &err);
  time_t expires = now + (time_t)outer->lifetime_min * 60;
  if (outer->cert_expiry < expires)
    expires = outer->cert_expiry;
  d->expires = expires;
  hs_desc_outer_free(outer);
  if (rv != 0) {
    hs_client_desc_free(d);
    if (rv == HS_DESC_ERR_AUTH) {
      *why = client_secret ? "our client authorization key is refused"
                           : "client authorization required";
      return client_secret ? HS_CLIENT_DESC_BAD_AUTH
                           : HS_CLIENT_DESC_NEED_AUTH;
    }
    *why = "encrypted layers do not open";
    return HS_CLIENT_DESC_INVALID;
  }
  *out = d;
  return HS_CLIENT_DESC_OK;
}

void
hs_client_desc_free_(hs_client_desc_t *d)
{
  if (!d)
    return;
  hs_desc_layer2_free(d->layer2);
  memwipe(d, sizeof(*d));
  al_free(d);
}

uint8_t
hs_client_desc_status_socks5(hs_client_desc_status_t st)
{
  switch (st) {
  case HS_CLIENT_DESC_OK:
    return 0;
  case HS_CLIENT_DESC_NOT_FOUND:
    return SOCKS5_HS_DESC_NOT_FOUND;
  case HS_CLIENT_DESC_INVALID:
    return SOCKS5_HS_DESC_INVALID;
  case HS_CLIENT_DESC_NEED_AUTH:
    return SOCKS5_HS_MISSING_CLIENT_AUTH;
  case HS_CLIENT_DESC_BAD_AUTH:
    return SOCKS5_HS_WRONG_CLIENT_AUTH;
  }
  return SOCKS5_GENERAL_FAILURE;
}

const char *
hs_client_desc_status_str(hs_client_desc_status_t st)
{
  switch (st) {
  case HS_CLIENT_DESC_OK:
    return "ok";
  case HS_CLIENT_DESC_NOT_FOUND:
    return "descriptor not found";
  case HS_CLIENT_DESC_INVALID:
    return "descriptor invalid";
  case HS_CLIENT_DESC_NEED_AUTH:
    return "client authorization missing";
  case HS_CLIENT_DESC_BAD_AUTH:
    return "client authorization refused";
  }
  return "?";
}

/* ---- cache ---- */

typedef struct cache_entry_t {
  ed25519_public_key_t pk;
  hs_client_desc_t *desc;          /* NULL: a failure */
  hs_client_desc_status_t status;
  time_t expires;
} cache_entry_t;

struct hs_client_cache_t {
  size_t n;
  cache_entry_t e[HS_CLIENT_CACHE_MAX];
};

hs_client_cache_t *
hs_client_cache_new(void)
{
  return al_calloc(1, sizeof(hs_client_cache_t));
}

static void
entry_drop(hs_client_cache_t *c, size_t i)
{
  hs_client_desc_free(c->e[i].desc);
  c->e[i] = c->e[--c->n];
  memset(&c->e[c->n], 0, sizeof(c->e[c->n]));
}

void
hs_client_cache_free_(hs_client_cache_t *c)
{
  if (!c)
    return;
  while (c->n)
    entry_drop(c, c->n - 1);
  al_free(c);
}

static cache_entry_t *
entry_find(hs_client_cache_t *c, const ed25519_public_key_t *pk, size_t *idx)
{
  for (size_t i = 0; i < c->n; i++)
    if (!memcmp(c->e[i].pk.pubkey, pk->pubkey, 32)) {
      if (idx)
        *idx = i;
      return &c->e[i];
    }
  return NULL;
}

/* The slot for pk: its entry emptied, or a new one (the soonest expiring
 * entry gives way when full). */
static cache_entry_t *
entry_slot(hs_client_cache_t *c, const ed25519_public_key_t *pk)
{
  cache_entry_t *e = entry_find(c, pk, NULL);
  if (e) {
    hs_client_desc_free(e->desc);
    return e;
  }
  if (c->n == HS_CLIENT_CACHE_MAX) {
    size_t soonest = 0;
    for (size_t i = 1; i < c->n; i++)
      if (c->e[i].expires < c->e[soonest].expires)
        soonest = i;
    entry_drop(c, soonest);
  }
  e = &c->e[c->n++];
  memset(e, 0, sizeof(*e));
  e->pk = *pk;
  return e;
}

int
hs_client_cache_put(hs_client_cache_t *c, hs_client_desc_t *d, time_t now)
{
  if (!c || !d) {
    hs_client_desc_free(d);
    return -1;
  }
  hs_client_cache_expire(c, now);
  cache_entry_t *old = entry_find(c, &d->service_pk, NULL);
  if (old && old->desc &&
      !memcmp(old->desc->blinded_pk.pubkey, d->blinded_pk.pubkey, 32) &&
      d->revision_counter < old->desc->revision_counter) {
    hs_client_desc_free(d);
    return -1;
  }
  cache_entry_t *e = entry_slot(c, &d->service_pk);
  e->desc = d;
  e->status = HS_CLIENT_DESC_OK;
  e->expires = d->expires;
  return 0;
}

void
hs_client_cache_put_failure(hs_client_cache_t *c,
                            const ed25519_public_key_t *service_pk,
                            hs_client_desc_status_t st, time_t now,
                            uint32_t ttl)
{
  if (!c || !service_pk || st == HS_CLIENT_DESC_OK)
    return;
  hs_client_cache_expire(c, now);
  cache_entry_t *e = entry_slot(c, service_pk);
  e->desc = NULL;
  e->status = st;
  e->expires = now + (time_t)ttl;
}

const hs_client_desc_t *
hs_client_cache_lookup(hs_client_cache_t *c, const ed25519_public_key_t *pk,
                       time_t now, hs_client_desc_status_t *st, int *known)
{
  if (known)
    *known = 0;
  if (st)
    *st = HS_CLIENT_DESC_NOT_FOUND;
  if (!c || !pk)
    return NULL;
  hs_client_cache_expire(c, now);
  cache_entry_t *e = entry_find(c, pk, NULL);
  if (!e)
    return NULL;
  if (known)
    *known = 1;
  if (st)
    *st = e->status;
  return e->desc;
}

void
hs_client_cache_remove(hs_client_cache_t *c, const ed25519_public_key_t *pk)
{
  size_t i;
  if (c && pk && entry_find(c, pk, &i))
    entry_drop(c, i);
}

void
hs_client_cache_clear_failures(hs_client_cache_t *c)
{
  if (!c)
    return;
  for (size_t i = c->n; i-- > 0;)
    if (!c->e[i].desc)
      entry_drop(c, i);
}

size_t
hs_client_cache_expire(hs_client_cache_t *c, time_t now)
{
  size_t dropped = 0;
  if (!c)
    return 0;
  for (size_t i = c->n; i-- > 0;)
    if (c->e[i].expires <= now) {
      entry_drop(c, i);
      dropped++;
    }
  return dropped;
}

size_t
hs_client_cache_size(const hs_client_cache_t *c)
{
  return c ? c->n : 0;
}
