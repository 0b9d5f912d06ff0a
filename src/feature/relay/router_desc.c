/* router_desc.c -- build and sign this relay's server descriptor (dir-spec
 * 2.1.1 "Server descriptor format"; the crosscerts of 2.1.1 and cert-spec
 * 2.1 / appendix A; router-sig-ed25519 and router-signature of 2.1.1).
 * Parameter checks are in router_desc_params.c.
 * See include/allium/feature/relay/router_desc.h.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/channel/torcert.h"
#include "allium/feature/relay/router_desc.h"
#include "allium/lib/crypto/digest.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"
#include "router_desc_internal.h"

#define ED_SIG_PREFIX "Tor router descriptor signature v1"

/* A bounded text buffer: any overflow of ROUTER_DESC_MAX_LEN is sticky. */
typedef struct desc_buf_t {
  char *b;
  size_t n, cap;
  int err;
} desc_buf_t;

static void
buf_add(desc_buf_t *d, const char *s, size_t n)
{
  if (d->err)
    return;
  if (d->n + n > ROUTER_DESC_MAX_LEN) {
    d->err = ROUTER_DESC_ERR_SIZE;
    return;
  }
  if (d->n + n + 1 > d->cap) {
    size_t cap = d->cap ? d->cap : 4096;
    while (cap < d->n + n + 1)
      cap *= 2;
    d->b = al_realloc(d->b, cap);
    d->cap = cap;
  }
  memcpy(d->b + d->n, s, n);
  d->n += n;
  d->b[d->n] = '\0';
}

static void buf_printf(desc_buf_t *d, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
static void
buf_printf(desc_buf_t *d, const char *fmt, ...)
{
  char tmp[ROUTER_DESC_MAX_STRING + 128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    d->err = d->err ? d->err : ROUTER_DESC_ERR_SIZE;
    return;
  }
  buf_add(d, tmp, (size_t)n);
}

/* "-----BEGIN label-----" NL base64 (64 per line, padded) "-----END label-----" NL */
static void
buf_object(desc_buf_t *d, const char *label, const uint8_t *data, size_t len)
{
  size_t sz = base64_encode_size(len, BASE64_FLAG_MULTILINE);
  char *b64 = al_malloc(sz);
  int n = base64_encode(b64, sz, data, len, BASE64_FLAG_MULTILINE);
  buf_printf(d, "-----BEGIN %s-----\n", label);
  if (n < 0)
    d->err = d->err ? d->err : ROUTER_DESC_ERR_ARG;
  else
    buf_add(d, b64, (size_t)n);
  buf_printf(d, "-----END %s-----\n", label);
  al_free(b64);
}

static void
buf_b64_nopad(desc_buf_t *d, const uint8_t *data, size_t len)
{
  char tmp[128];
  if (base64_encode(tmp, sizeof(tmp), data, len, BASE64_FLAG_NOPAD) < 0)
    d->err = d->err ? d->err : ROUTER_DESC_ERR_ARG;
  else
    buf_add(d, tmp, strlen(tmp));
}

static void
buf_rsa_key(desc_buf_t *d, const char *keyword, const rsa_key_t *k)
{
  uint8_t *der = NULL;
  size_t len = 0;
  if (rsa_key_public_to_der(k, &der, &len) < 0) {
    d->err = d->err ? d->err : ROUTER_DESC_ERR_KEYS;
    return;
  }
  buf_printf(d, "%s\n", keyword);
  buf_object(d, "RSA PUBLIC KEY", der, len);
  al_free(der);
}

/* The signatures and certificates made fresh for each descriptor. */
typedef struct desc_certs_t {
  uint8_t *tap_cross;       /* onion-key-crosscert (raw RSA signature) */
  size_t tap_cross_len;
  torcert_t *ntor_cross;    /* ntor-onion-key-crosscert, type 0x0A */
  int ntor_signbit;
} desc_certs_t;

static void
certs_clear(desc_certs_t *c)
{
  al_free(c->tap_cross);
  torcert_free(c->ntor_cross);
  memset(c, 0, sizeof(*c));
}

/* onion-key-crosscert: the TAP key signs SHA1(RSA identity DER) || ed25519
 * master key, PKCS#1 type-1 padded, not hashed (dir-spec 2.1.1).
 * ntor-onion-key-crosscert: the ntor key, as an ed25519 key (cert-spec
 * appendix C), certifies the master key in a type-0x0A certificate. */
static int
certs_make(desc_certs_t *c, const relay_keys_t *k, time_t now)
{
  uint8_t signed52[52];
  const rsa_key_t *onion = relay_keys_onion_rsa(k);
  const ed25519_public_key_t *master = relay_keys_master_public(k);
  if (!onion || !master)
    return ROUTER_DESC_ERR_KEYS;
  memcpy(signed52, relay_keys_identity_digest(k), 20);
  memcpy(signed52 + 20, master->pubkey, 32);
  if (rsa_sign_raw(onion, signed52, sizeof(signed52), &c->tap_cross, &c->tap_cross_len) < 0)
    return ROUTER_DESC_ERR_KEYS;
  ed25519_keypair_t ntor_ed;
  int rv = ed25519_keypair_from_curve25519(&ntor_ed, &c->ntor_signbit,
                                           relay_keys_onion_ntor(k)->sec);
  if (rv == 0)
    rv = torcert_create(&c->ntor_cross, CERT_TYPE_ONION_ID_CROSSCERT, CERT_KEY_TYPE_ED25519,
                        master->pubkey, &ntor_ed, now, ROUTER_DESC_NTOR_CROSSCERT_LIFETIME, 0);
  ed25519_keypair_wipe(&ntor_ed);
  return rv < 0 ? ROUTER_DESC_ERR_KEYS : 0;
}

/* "router" through "bandwidth". */
static void
write_head(desc_buf_t *d, const router_desc_params_t *p)
{
  const relay_keys_t *k = p->keys;
  size_t cert_len = 0;
  const uint8_t *cert = relay_keys_signing_cert_encoded(k, &cert_len);
  char pub[20], fp[41], platform[ROUTER_DESC_MAX_STRING + 1];
  buf_printf(d, "router %s %u.%u.%u.%u %u 0 %u\n", p->nickname, p->ipv4[0], p->ipv4[1],
             p->ipv4[2], p->ipv4[3], p->orport, p->dirport);
  buf_printf(d, "identity-ed25519\n");
  buf_object(d, "ED25519 CERT", cert, cert_len);
  buf_printf(d, "master-key-ed25519 ");
  buf_b64_nopad(d, relay_keys_master_public(k)->pubkey, 32);
  buf_printf(d, "\n");
  if (p->has_ipv6) {
    char a[64];
    inet_ntop(AF_INET6, p->ipv6, a, sizeof(a));
    buf_printf(d, "or-address [%s]:%u\n", a, p->ipv6_orport);
  }
  if (p->platform)
    snprintf(platform, sizeof(platform), "%s", p->platform);
  else if (router_desc_platform_default(platform, sizeof(platform)) < 0)
    snprintf(platform, sizeof(platform), "allium");
  buf_printf(d, "platform %s\n", platform);
  buf_printf(d, "proto %s\n", p->proto ? p->proto : ROUTER_DESC_PROTO);
  civil_format_iso(p->published, ' ', pub);
  buf_printf(d, "published %s\n", pub);
  if (relay_keys_fingerprint_hex(k, fp) < 0) {
    d->err = d->err ? d->err : ROUTER_DESC_ERR_KEYS;
    return;
  }
  buf_printf(d, "fingerprint");
  for (int i = 0; i < 40; i += 4)
    buf_printf(d, " %.4s", fp + i);
  buf_printf(d, "\nuptime %llu\n", (unsigned long long)p->uptime);
  buf_printf(d, "bandwidth %llu %llu %llu\n", (unsigned long long)p->bw_avg,
             (unsigned long long)p->bw_burst, (unsigned long long)p->bw_observed);
}

/* "onion-key" through the end of the exit policy, and tunnelled-dir-server. */
static void
write_keys_and_policy(desc_buf_t *d, const router_desc_params_t *p, const desc_certs_t *c)
{
  const relay_keys_t *k = p->keys;
  buf_rsa_key(d, "onion-key", relay_keys_onion_rsa(k));
  buf_rsa_key(d, "signing-key", relay_keys_identity_rsa(k));
  buf_printf(d, "onion-key-crosscert\n");
  buf_object(d, "CROSSCERT", c->tap_cross, c->tap_cross_len);
  buf_printf(d, "ntor-onion-key-crosscert %d\n", c->ntor_signbit);
  buf_object(d, "ED25519 CERT", c->ntor_cross->encoded, c->ntor_cross->encoded_len);
  if (p->n_family) {
    buf_printf(d, "family");
    for (size_t i = 0; i < p->n_family; i++)
      buf_printf(d, " %s", p->family[i]);
    buf_printf(d, "\n");
  }
  if (p->hibernating)   /* dir-spec 2.1.1 "hibernating" bool */
    buf_printf(d, "hibernating 1\n");
  if (p->hidden_service_dir)
    buf_printf(d, "hidden-service-dir\n");
  if (p->contact && *p->contact)
    buf_printf(d, "contact %s\n", p->contact);
  buf_printf(d, "ntor-onion-key ");
  buf_b64_nopad(d, relay_keys_onion_ntor(k)->pub, 32);
  buf_printf(d, "\n");
  if (p->n_policy == 0)
    buf_printf(d, "reject *:*\n");
  for (size_t i = 0; i < p->n_policy; i++)
    buf_printf(d, "%s\n", p->policy[i]);
  if (p->ipv6_policy)
    buf_printf(d, "ipv6-policy %s\n", p->ipv6_policy);
  if (p->tunnelled_dir_server)
    buf_printf(d, "tunnelled-dir-server\n");
}

/* router-sig-ed25519 and router-signature. */
static void
write_signatures(desc_buf_t *d, const relay_keys_t *k)
{
  uint8_t h256[32], h1[20], sig[ED25519_SIG_LEN];
  buf_printf(d, "router-sig-ed25519 ");
  if (d->err)
    return;
  digest_ctx_t *ctx = digest_ctx_new(DIGEST_ALG_SHA256);
  digest_ctx_add(ctx, ED_SIG_PREFIX, strlen(ED_SIG_PREFIX));
  digest_ctx_add(ctx, d->b, d->n);
  digest_ctx_peek(ctx, h256, sizeof(h256));
  digest_ctx_free(ctx);
  if (ed25519_sign(sig, h256, sizeof(h256), relay_keys_signing_keypair(k)) < 0) {
    d->err = ROUTER_DESC_ERR_KEYS;
    return;
  }
  buf_b64_nopad(d, sig, sizeof(sig));
  buf_printf(d, "\nrouter-signature\n");
  if (d->err)
    return;
  uint8_t *rsa_sig = NULL;
  size_t rsa_len = 0;
  if (digest_sha1(h1, d->b, d->n) < 0 ||
      rsa_sign_raw(relay_keys_identity_rsa(k), h1, sizeof(h1), &rsa_sig, &rsa_len) < 0) {
    d->err = ROUTER_DESC_ERR_KEYS;
    return;
  }
  buf_object(d, "SIGNATURE", rsa_sig, rsa_len);
  al_free(rsa_sig);
}

/* The long-term keys are all there and the signing cert is valid at now. */
static int
keys_usable(const relay_keys_t *k, time_t now)
{
  size_t cert_len = 0;
  const torcert_t *cert = relay_keys_signing_cert(k);
  if (!relay_keys_identity_rsa(k) || !relay_keys_onion_rsa(k) || !relay_keys_onion_ntor(k) ||
      !relay_keys_signing_keypair(k) || !relay_keys_master_public(k) || !cert ||
      !relay_keys_signing_cert_encoded(k, &cert_len) || cert_len == 0)
    return 0;
  return !torcert_is_expired(cert, now);
}

int
router_desc_build(const router_desc_params_t *p, char **out, size_t *len)
{
  if (!out || !len)
    return ROUTER_DESC_ERR_ARG;
  *out = NULL;
  *len = 0;
  int rv = router_desc_params_check(p);
  if (rv < 0)
    return rv;
  if (!keys_usable(p->keys, p->published))
    return ROUTER_DESC_ERR_KEYS;
  desc_certs_t certs;
  memset(&certs, 0, sizeof(certs));
  if ((rv = certs_make(&certs, p->keys, p->published)) < 0) {
    certs_clear(&certs);
    return rv;
  }
  desc_buf_t d = { NULL, 0, 0, 0 };
  write_head(&d, p);
  write_keys_and_policy(&d, p, &certs);
  write_signatures(&d, p->keys);
  certs_clear(&certs);
  if (d.err) {
    al_free(d.b);
    return d.err;
  }
  *out = d.b;
  *len = d.n;
  return 0;
}

const char *
router_desc_strerror(int err)
{
  switch (err) {
  case 0: return "success";
  case ROUTER_DESC_ERR_ARG: return "a descriptor parameter is missing or malformed";
  case ROUTER_DESC_ERR_KEYS: return "a relay key is missing or expired, or signing failed";
  case ROUTER_DESC_ERR_SIZE: return "the descriptor would be too large";
  default: return "unknown descriptor error";
  }
}

int
router_desc_digest(const char *desc, size_t len, uint8_t out[20])
{
  static const char tail[] = "\nrouter-signature\n";
  if (!desc || !out)
    return -1;
  const char *start = desc;
  /* Skip leading annotations: the digest starts at "router ". */
  for (;;) {
    size_t left = len - (size_t)(start - desc);
    if (left >= 7 && memcmp(start, "router ", 7) == 0)
      break;
    const char *nl = memchr(start, '\n', left);
    if (!nl)
      return -1;
    start = nl + 1;
  }
  const char *end = NULL;
  for (const char *s = start; (size_t)(s - desc) + sizeof(tail) - 1 <= len; s++)
    if (memcmp(s, tail, sizeof(tail) - 1) == 0) {
      end = s + sizeof(tail) - 1;
      break;
    }
  if (!end)
    return -1;
  return digest_sha1(out, start, (size_t)(end - start));
}
