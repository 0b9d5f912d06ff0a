/* consensus_internal.h -- shared between consensus.c and consensus_body.c
 * (dir-spec 3.4.1); not for use outside src/feature/dirparse. */
#ifndef ALLIUM_FEATURE_DIRPARSE_CONSENSUS_INTERNAL_H
#define ALLIUM_FEATURE_DIRPARSE_CONSENSUS_INTERNAL_H

#include "allium/feature/dirparse/consensus.h"

enum {
  H_VERSION, H_VOTE_STATUS, H_METHOD, H_VALID_AFTER, H_FRESH_UNTIL, H_VALID_UNTIL,
  H_VOTING_DELAY, H_CLIENT_VERSIONS, H_SERVER_VERSIONS, H_PACKAGE, H_KNOWN_FLAGS,
  H_REC_CLIENT, H_REC_RELAY, H_REQ_CLIENT, H_REQ_RELAY, H_PARAMS, H_SRV_PREV, H_SRV_CUR,
  H_NEVER,
};
enum { R_R, R_A, R_S, R_V, R_PR, R_W, R_P, R_M, R_NEVER };
enum { F_FOOTER, F_WEIGHTS, F_SIG, F_NEVER };

/** Parse "name=int32" arguments of t into a new array (*kv, *n).  With
 * sorted, names must be strictly increasing. */
int consensus_parse_kv(const netdoc_token_t *t, consensus_kv_t **kv, size_t *n, int sorted,
                       netdoc_err_t *err);
/** Preamble tok[0..n), rules already checked. */
int consensus_parse_header(consensus_t *c, const netdoc_token_t *tok, size_t n,
                           netdoc_err_t *err);
/** Authority section: dir-source groups. */
int consensus_parse_authorities(consensus_t *c, const netdoc_token_t *tok, size_t n,
                                netdoc_err_t *err);
/** Router status entries: each starts with "r"; rules per entry. */
int consensus_parse_routers(consensus_t *c, netdoc_token_t *tok, size_t n,
                            const netdoc_rule_t *rules, netdoc_err_t *err);

#endif
