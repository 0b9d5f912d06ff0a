/* routerdesc.h -- relay server descriptors (dir-spec 2.1.1), one or a
 * concatenated batch (a /tor/server/ response or a cached-descriptors file,
 * whose "@..." annotation lines are skipped).
 *
 * routerdesc_parse() verifies everything that needs no clock: the
 * identity-ed25519 certificate chain (master identity key -> signing key),
 * router-sig-ed25519 (ed25519 over SHA-256 of "Tor router descriptor
 * signature v1" || document through "router-sig-ed25519 "), router-signature
 * (RSA identity key over SHA-1 of the document through the NL after
 * "router-signature"), the fingerprint line, onion-key-crosscert and
 * ntor-onion-key-crosscert.  Certificate expiry is left to the caller
 * (cert_expires).  Following proposal 350, onion-key (TAP) is optional.
 */
#ifndef ALLIUM_FEATURE_DIRPARSE_ROUTERDESC_H
#define ALLIUM_FEATURE_DIRPARSE_ROUTERDESC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/core/channel/torcert.h"
#include "allium/feature/dirparse/netdoc.h"
#include "allium/lib/crypto/ed25519.h"
#include "allium/lib/crypto/rsa.h"

/** One exit policy line ("accept"/"reject" exitpattern). */
typedef struct routerdesc_policy_t {
  int accept;                  /* 1 accept, 0 reject */
  char *pattern;               /* e.g. "127.0.0.1:*", owned */
} routerdesc_policy_t;

typedef struct routerdesc_t {
  char nickname[20];
  uint8_t ipv4[4];
  uint16_t orport, dirport;
  int has_ipv6;                /* first IPv6 "or-address" */
  uint8_t ipv6[16];
  uint16_t ipv6_port;
  torcert_t *id_cert;          /* identity-ed25519, owned */
  ed25519_public_key_t master_key;   /* ed25519 identity */
  ed25519_public_key_t signing_key;  /* certified by master_key */
  time_t cert_expires;         /* earliest expiry of the ed25519 certificates */
  rsa_key_t *identity_key;     /* "signing-key" (RSA identity), owned */
  uint8_t rsa_id[20];          /* SHA-1 of identity_key: the fingerprint */
  rsa_key_t *onion_key;        /* TAP key, NULL if absent; owned */
  uint8_t ntor_onion_key[32];
  uint64_t bw_avg, bw_burst, bw_observed;
  char *platform;              /* NULL if absent */
  char *protocols;             /* "proto" */
  char *contact;               /* NULL if absent */
  time_t published;
  int has_uptime;
  uint64_t uptime;
  int hibernating;
  int caches_extra_info, tunnelled_dir_server, hidden_service_dir;
  char **family;               /* NULL if absent; owned */
  size_t n_family;
  routerdesc_policy_t *policy; /* exit policy in order; owned */
  size_t n_policy;
  char *ipv6_policy;           /* "ipv6-policy" summary, NULL = reject all */
  uint8_t digest[20];          /* SHA-1 of the signed portion (consensus "r") */
} routerdesc_t;

/** Parse and verify exactly one descriptor (annotations allowed before it).
 * *out: caller frees with routerdesc_free().  0, DIRPARSE_ERR_SYNTAX or
 * DIRPARSE_ERR_SIG, err naming the line. */
int routerdesc_parse(const char *s, size_t len, routerdesc_t **out, netdoc_err_t *err);

/** Parse and verify a concatenation of descriptors; all must verify;
 * empty input gives *n = 0.
 * *out: new array of *n, caller frees with routerdesc_list_free(). */
int routerdesc_parse_batch(const char *s, size_t len, routerdesc_t ***out, size_t *n,
                           netdoc_err_t *err);

void routerdesc_free_(routerdesc_t *rd);
#define routerdesc_free(p) do { routerdesc_free_(p); (p) = NULL; } while (0)
void routerdesc_list_free_(routerdesc_t **l, size_t n);
#define routerdesc_list_free(p, n) do { routerdesc_list_free_((p), (n)); (p) = NULL; } while (0)

#endif
