/* dir_fallback.h -- the FallbackDir configuration line (tor(1),
 * "FallbackDir ipv4address[:dirport] orport=N id=FINGERPRINT [weight=N]
 * [ipv6=[addr]:orport]"): a fallback directory mirror, a relay a
 * bootstrapping client may fetch the consensus from instead of a directory
 * authority (dir-spec 5.1; tor(1) FallbackDir, UseDefaultFallbackDirs).
 *
 * The address comes first; the flags may follow in any order, each at most
 * once.  orport and id are required.  The dirport is optional (tor's own
 * built-in list gives none: allium always fetches through the ORPort over
 * a BEGIN_DIR stream).  Anything else is an error.
 */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_FALLBACK_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_FALLBACK_H

#include <stdbool.h>
#include <stdint.h>

/** Longest FallbackDir value accepted (bytes). */
#define DIR_FALLBACK_MAX_LINE 512
/** Largest weight accepted. */
#define DIR_FALLBACK_MAX_WEIGHT 1000000000u

typedef struct dir_fallback_t {
  uint8_t ipv4[4];
  uint16_t dirport;              /* 0 if not given */
  uint16_t orport;
  uint8_t rsa_id[20];            /* the RSA identity fingerprint */
  uint32_t weight;               /* 1 if not given */
  bool has_ipv6;
  uint8_t ipv6[16];
  uint16_t ipv6_orport;
} dir_fallback_t;

/** Parse a FallbackDir value (see above) into *out.  Returns 0, or -1
 * with *err set to a new message naming the problem (caller frees with
 * al_free; err may be NULL) and *out zeroed. */
int dir_fallback_parse(const char *value, dir_fallback_t *out, char **err);

#endif
