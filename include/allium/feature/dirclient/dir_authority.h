/* dir_authority.h -- the DirAuthority configuration line (tor(1),
 * "DirAuthority [nickname] [flags] ipv4address:dirport fingerprint"): the
 * directory authorities a client bootstraps from (dir-spec 5.1) and whose
 * v3 identities sign the consensus (dir-spec 3.4.1).
 *
 * Accepted flags: orport=N, v3ident=HEX40, ipv6=[addr]:port, weight=N,
 * no-v2, hs, no-hs, bridge.  Anything else is an error.  The fingerprint is
 * the RSA identity digest: 40 hex digits, either in one piece or in ten
 * groups of four separated by spaces.
 */
#ifndef ALLIUM_FEATURE_DIRCLIENT_DIR_AUTHORITY_H
#define ALLIUM_FEATURE_DIRCLIENT_DIR_AUTHORITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest DirAuthority value accepted (bytes). */
#define DIR_AUTHORITY_MAX_LINE 1024

typedef struct dir_authority_t {
  char nickname[20];             /* "" when not given */
  uint8_t ipv4[4];
  uint16_t dirport, orport;      /* orport 0 if not given */
  uint8_t rsa_id[20];            /* the RSA identity fingerprint */
  bool has_v3ident;
  uint8_t v3ident[20];
  bool is_bridge_auth, no_v2, hs;/* flags accepted */
} dir_authority_t;

/** Parse a DirAuthority value (tor(1) syntax, see above) into *out.
 * Returns 0, or -1 with *err set to a new message naming the problem
 * (caller frees with al_free; err may be NULL). */
int dir_authority_parse(const char *value, dir_authority_t *out, char **err);

#endif
