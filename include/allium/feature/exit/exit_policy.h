/* exit_policy.h -- the relay's effective exit policy from its options, as
 * tor(1) 0.4.9 builds it (ExitRelay, ExitPolicy, ExitPolicyRejectPrivate,
 * ExitPolicyRejectLocalInterfaces, ReducedExitPolicy, IPv6Exit), and what
 * the descriptor says of it (dir-spec 2.1.1 "accept"/"reject" lines and
 * "ipv6-policy"; 3.8.2 summaries).
 *
 * The effective policy, in order:
 *   - ExitRelay 0, or ExitRelay auto with none of ExitPolicy /
 *     ReducedExitPolicy / IPv6Exit set: "reject *4:*", "reject *6:*" only;
 *   - "reject *6:*" unless IPv6Exit;
 *   - ExitPolicyRejectPrivate: every private network and the relay's own
 *     published addresses; ExitPolicyRejectLocalInterfaces: every address
 *     of every local interface;
 *   - the ExitPolicy lines, in order;
 *   - unless they end in a catch-all: ReducedExitPolicy's list or tor's
 *     default exit policy.
 * A policy that accepts nothing (exit_policy_is_exit() false) makes the
 * relay a non-exit, as ExitRelay 0 does.  Sans-IO except
 * exit_policy_local_addrs(). */
#ifndef ALLIUM_FEATURE_EXIT_EXIT_POLICY_H
#define ALLIUM_FEATURE_EXIT_EXIT_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "allium/core/policy/policy.h"
#include "allium/lib/conf/confline.h"

/** Most descriptor policy lines (router_desc.h ROUTER_DESC_MAX_POLICY). */
#define EXIT_POLICY_MAX_LINES 256

typedef struct exit_policy_cfg_t {
  int exit_relay;                    /**< ExitRelay: -1 auto, 0, 1 */
  const config_line_t *policy;       /**< ExitPolicy lines (may be NULL) */
  bool reject_private;               /**< ExitPolicyRejectPrivate */
  bool reject_local_interfaces;      /**< ExitPolicyRejectLocalInterfaces */
  bool reduced;                      /**< ReducedExitPolicy */
  bool ipv6_exit;                    /**< IPv6Exit */
  const policy_addr_t *own_addrs;    /**< published addresses */
  size_t n_own;
  const policy_addr_t *if_addrs;     /**< local interface addresses */
  size_t n_if;
} exit_policy_cfg_t;

/** Build the effective policy into *out (new; caller frees).  0, or -1
 * with *errmsg (caller frees) for an ExitPolicy line that does not parse. */
int exit_policy_build(const exit_policy_cfg_t *cfg, policy_t **out,
                      char **errmsg);

/** Append tor's ReducedExitPolicy list (tor(1) ReducedExitPolicy). */
void exit_policy_add_reduced(policy_t *p);

/** True if p accepts something on family 4 or 6: an accept rule of that
 * family (or of both) comes before any rule that rejects the whole family
 * on every port (tor's "reject *:*" test). */
bool exit_policy_accepts_family(const policy_t *p, int family);
/** exit_policy_accepts_family() for 4 or 6. */
bool exit_policy_is_exit(const policy_t *p);

/** The descriptor's policy lines (dir-spec 2.1.1): the IPv4 and
 * both-family rules in order, "*4" written as "*", IPv6 rules left out
 * (they go to "ipv6-policy"), at most EXIT_POLICY_MAX_LINES lines (the
 * rest replaced by a final "reject *:*").  *lines: new array of new
 * strings; free with exit_policy_lines_free().  A non-exit gets
 * {"reject *:*"}. */
int exit_policy_desc_lines(const policy_t *p, char ***lines, size_t *n);
void exit_policy_lines_free(char **lines, size_t n);

/** The "ipv6-policy" summary ("accept 80,443"), or NULL when p accepts no
 * IPv6 port (the line is then left out).  Caller frees (al_free). */
char *exit_policy_ipv6_summary(const policy_t *p);

/** Every address of every local interface that is up (getifaddrs(3));
 * *out: new array (al_free).  0, or -1. */
int exit_policy_local_addrs(policy_addr_t **out, size_t *n);

#endif
