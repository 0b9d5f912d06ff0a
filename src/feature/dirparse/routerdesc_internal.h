/* routerdesc_internal.h -- shared by routerdesc.c and routerdesc_verify.c
 * (dir-spec 2.1.1); not for use outside src/feature/dirparse. */
#ifndef ALLIUM_FEATURE_DIRPARSE_ROUTERDESC_INTERNAL_H
#define ALLIUM_FEATURE_DIRPARSE_ROUTERDESC_INTERNAL_H

#include "allium/feature/dirparse/routerdesc.h"

enum {
  D_ROUTER, D_ID_ED, D_MASTER, D_BANDWIDTH, D_PLATFORM, D_PUBLISHED, D_FINGERPRINT,
  D_HIBERNATING, D_UPTIME, D_ONION_KEY, D_ONION_CROSS, D_NTOR, D_NTOR_CROSS, D_SIGNING_KEY,
  D_ACCEPT, D_REJECT, D_IPV6_POLICY, D_SIG_ED, D_SIG, D_CONTACT, D_FAMILY, D_OR_ADDRESS,
  D_PROTO, D_CACHES_EI, D_TUNNELLED, D_HSDIR, D_EI_DIGEST,
};

/** Check the keys, certificates and both signatures of rd, whose tokens
 * (no annotations) are tok[0..n) and whose text starts at tok[0].line. */
int routerdesc_verify(routerdesc_t *rd, const netdoc_token_t *tok, size_t n,
                      netdoc_err_t *err);

#endif
