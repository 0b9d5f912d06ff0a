/* exit_parse.h -- what an exit makes of a stream request (sans-IO):
 * RELAY_BEGIN targets with their flags (tor-spec 6.2), RELAY_RESOLVE names
 * including reverse (PTR) lookups of in-addr.arpa / ip6.arpa names and
 * address literals (6.4), RELAY_RESOLVED bodies from resolver answers, and
 * the END reason for a failed connection (6.3).
 *
 * Implemented in src/feature/exit/exit_parse.c; fuzzed by
 * tests/fuzz/exitreq. */
#ifndef ALLIUM_FEATURE_EXIT_EXIT_PARSE_H
#define ALLIUM_FEATURE_EXIT_EXIT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/cell/relay_msg.h"
#include "allium/core/policy/policy.h"
#include "allium/feature/exit/exit_dns.h"

/* Errors (negative). */
#define EXIT_PARSE_E_BODY   (-1)  /**< the body itself is malformed (6.2) */
#define EXIT_PARSE_E_NAME   (-2)  /**< not a host name we look up (.onion,
                                   *   .exit, blanks, control bytes, over
                                   *   255 bytes) */
#define EXIT_PARSE_E_FAMILY (-3)  /**< an address literal of a family the
                                   *   flags rule out */

/** Longest host name we look up (DNS: 253 + slack), with its NUL. */
#define EXIT_NAME_MAX 256

/** A BEGIN target. */
typedef struct exit_begin_t {
  bool is_name;               /**< name[] to resolve, else addr */
  policy_addr_t addr;         /**< address literal (family 4 or 6) */
  char name[EXIT_NAME_MAX];   /**< host name as sent (NUL-terminated) */
  uint16_t port;              /**< 1..65535 */
  bool ipv4_ok;               /**< not IPv4-not-okay */
  bool ipv6_ok;               /**< IPv6-okay */
  bool ipv6_preferred;        /**< IPv6-preferred (only with ipv6_ok) */
} exit_begin_t;

/** Parse a RELAY_BEGIN body.  0, or EXIT_PARSE_E_*. */
int exit_begin_parse(const uint8_t *body, size_t len, exit_begin_t *out);
/** The same from an already decoded BEGIN (host, port, flags). */
int exit_begin_from(const char *host, uint16_t port, uint32_t flags,
                    exit_begin_t *out);

/** A RESOLVE request. */
typedef struct exit_resolve_t {
  bool is_ptr;                /**< reverse lookup of addr */
  bool is_literal;            /**< a forward "lookup" of an address
                               *   literal: the answer is addr itself */
  policy_addr_t addr;
  char name[EXIT_NAME_MAX];   /**< forward lookups */
} exit_resolve_t;

/** Parse a RELAY_RESOLVE body.  0, or EXIT_PARSE_E_*. */
int exit_resolve_parse(const uint8_t *body, size_t len, exit_resolve_t *out);
/** The same from an already decoded name. */
int exit_resolve_from(const char *name, exit_resolve_t *out);

/** "d.c.b.a.in-addr.arpa" or the 32-nibble ip6.arpa form (any case, an
 * optional final dot) into *out.  0, or EXIT_PARSE_E_NAME. */
int exit_ptr_name_parse(const char *name, policy_addr_t *out);

/** Is name one we would send to a resolver?  (Length 1..255, printable
 * non-blank ASCII, not ending in .onion or .exit.) */
bool exit_name_ok(const char *name);

/** A RELAY_RESOLVED body for a resolver answer (addresses of the families
 * allowed, or the hostname of a PTR answer, or an error answer).  Writes at
 * most RELAY_BODY_MAX bytes into out.  0, or -1. */
int exit_resolved_build(const exit_dns_answer_t *a, bool want_v4,
                        bool want_v6, uint8_t *out, size_t outlen,
                        size_t *len_out);
/** A RESOLVED body with one address answer (RESOLVE of a literal). */
int exit_resolved_addr(const policy_addr_t *a, uint32_t ttl, uint8_t *out,
                       size_t outlen, size_t *len_out);

/** The END reason for a failed connect/read/write errno (tor-spec 6.3):
 * CONNECTREFUSED, TIMEOUT, NOROUTE, CONNRESET, RESOURCELIMIT, MISC. */
uint8_t exit_end_reason_for_errno(int err);

/** Conversions between the policy and cell address types. */
void exit_addr_to_cell(const policy_addr_t *a, cell_addr_t *out);
void exit_addr_from_dns(const exit_dns_addr_t *a, policy_addr_t *out);

#endif
