/* microdesc.h -- microdescriptors (dir-spec 3.3), one at a time or as a
 * concatenated batch (a /tor/micro/d/ response or a cached-microdescs file,
 * whose "@..." annotation lines are skipped).
 *
 * Each parsed microdescriptor carries its SHA-256 digest, computed over the
 * microdescriptor's own items (from its first item through the NL of its last
 * item; annotations excluded), which is what a microdesc consensus "m" line
 * names.  Following proposal 350, "onion-key" (TAP) is optional; when present
 * it must be the first item.
 */
#ifndef ALLIUM_FEATURE_DIRPARSE_MICRODESC_H
#define ALLIUM_FEATURE_DIRPARSE_MICRODESC_H

#include <stddef.h>
#include <stdint.h>

#include "allium/feature/dirparse/netdoc.h"
#include "allium/lib/crypto/rsa.h"

typedef struct microdesc_t {
  uint8_t digest[32];          /* SHA-256 of body */
  char *body;                  /* the microdescriptor text, owned */
  size_t body_len;
  rsa_key_t *onion_key;        /* TAP key, NULL if absent; owned */
  uint8_t ntor_onion_key[32];  /* curve25519 public key */
  int has_ipv6;                /* first "a" line with an IPv6 address */
  uint8_t ipv6[16];
  uint16_t ipv6_port;
  char **family;               /* "family" entries, NULL if absent; owned */
  size_t n_family;
  char **family_ids;           /* "family-ids" entries (proposal 321, e.g.
                                * "ed25519:BASE64"), NULL if absent; owned */
  size_t n_family_ids;
  char *policy;                /* "p" summary, e.g. "accept 80,443"; NULL = reject all */
  char *policy6;               /* "p6" summary; NULL = reject all */
  int has_rsa_id;
  uint8_t rsa_id[20];          /* "id rsa1024" */
  int has_ed25519_id;
  uint8_t ed25519_id[32];      /* "id ed25519" */
  char *protocols;             /* "pr", NULL if absent */
} microdesc_t;

/** Parse exactly one microdescriptor from s[0..len) (annotations allowed
 * before it).  *out: caller frees with microdesc_free().  0 or DIRPARSE_ERR_*. */
int microdesc_parse(const char *s, size_t len, microdesc_t **out, netdoc_err_t *err);

/** Parse a concatenation of microdescriptors.  All must be well formed;
 * empty input gives *n = 0.
 * *out: new array of *n microdescriptors, in input order; caller frees with
 * microdesc_list_free(). */
int microdesc_parse_batch(const char *s, size_t len, microdesc_t ***out, size_t *n,
                          netdoc_err_t *err);

/** Parse a concatenation of microdescriptors, keeping the well-formed ones:
 * the input is cut at each line that starts a microdescriptor (an "@"
 * annotation or "onion-key" after an item, a second "ntor-onion-key") and
 * each piece is parsed alone with microdesc_parse(), so a malformed one
 * (a bad key, a byte the tokenizer refuses, a truncated object) costs only
 * itself.  *out: new array of the *n good ones in input order (NULL when
 * *n is 0), freed with microdesc_list_free(); *n_bad: pieces that did not
 * parse.  0, or DIRPARSE_ERR_ARG for a bad call. */
int microdesc_parse_each(const char *s, size_t len, microdesc_t ***out, size_t *n,
                         size_t *n_bad);

void microdesc_free_(microdesc_t *md);
#define microdesc_free(p) do { microdesc_free_(p); (p) = NULL; } while (0)
void microdesc_list_free_(microdesc_t **l, size_t n);
#define microdesc_list_free(p, n) do { microdesc_list_free_((p), (n)); (p) = NULL; } while (0)

#endif
