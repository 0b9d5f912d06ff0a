/* policy.h -- exit policies and exit-policy summaries (sans-IO).
 *
 * Implements the "accept"/"reject" exitpattern lines of dir-spec.txt 2.1.1
 * and 2.1.3, the torrc ExitPolicy syntax (accept6/reject6, "*4", "*6",
 * "private", omitted port) as the tor(1) manual documents it, the default
 * exit policy and ExitPolicyRejectPrivate expansion, and the port-list
 * summaries of dir-spec.txt 3.8.2 ("p"/"p6" lines of consensuses and
 * microdescriptors, "ipv6-policy" of descriptors).
 *
 * A policy is an ordered list of entries; the first entry that matches an
 * (address, port) pair decides.  If none matches, dir-spec 2.1.1 says the
 * address is accepted.  Connections to port 0 are never permitted.
 */
#ifndef ALLIUM_CORE_POLICY_POLICY_H
#define ALLIUM_CORE_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes (negative returns). */
#define POLICY_E_SYNTAX    (-1)  /* garbage, bad keyword, bad port, ... */
#define POLICY_E_MASK      (-2)  /* bad mask / prefix length */
#define POLICY_E_PORT      (-3)  /* port out of range or reversed range */
#define POLICY_E_FAMILY    (-4)  /* accept6/reject6 with an IPv4 address */
#define POLICY_E_PRIVATE   (-5)  /* "private" where a single entry is needed */
#define POLICY_E_TOOLONG   (-6)  /* input too long */

/** An IPv4 or IPv6 address.  IPv4 uses bytes 0..3 of addr (network order);
 * the remaining bytes are zero. */
typedef struct policy_addr_t {
  uint8_t family;     /* 4 or 6; 0 = none */
  uint8_t addr[16];
} policy_addr_t;

/** Parse "1.2.3.4", "::1" or "[::1]" (whole string of length len).
 * Returns 0 or POLICY_E_SYNTAX. */
int policy_addr_parse(const char *s, size_t len, policy_addr_t *out);
/** Write the address (IPv6 without brackets) into buf (at least 46 bytes
 * for IPv6, 16 for IPv4).  Returns 0, or -1 if it does not fit. */
int policy_addr_format(const policy_addr_t *a, char *buf, size_t buflen);
/** True if a is in one of the "private" networks of tor(1) ExitPolicy. */
bool policy_addr_is_private(const policy_addr_t *a);

typedef enum policy_action_t {
  POLICY_ACCEPT = 1,
  POLICY_REJECT = 2,
} policy_action_t;

/** One exit-policy entry.  family 0 means "*" (every IPv4 and IPv6
 * address); family 4 or 6 with maskbits 0 is "*4"/"*6".  addr has every
 * bit past maskbits cleared.  Ports are inclusive, 1 <= lo <= hi. */
typedef struct policy_entry_t {
  policy_action_t action;
  uint8_t family;
  uint8_t maskbits;
  uint8_t addr[16];
  uint16_t port_lo;
  uint16_t port_hi;
} policy_entry_t;

/** Parse one entry that is not "private": "accept 1.2.3.0/24:80-88",
 * "reject6 [fc00::]/7:*", "accept *:443", "reject *4", "accept
 * 10.0.0.0/255.0.0.0:*".  Leading/trailing blanks are ignored; the keyword
 * and pattern are separated by blanks.  A missing ":port" means "*".  A
 * range may start at 0 (dir-spec 2.1.3 says to accept that; it is stored as
 * 1) but "0" alone or "0-0" is an error.  Returns 0 or a POLICY_E_* code
 * (POLICY_E_PRIVATE for the "private" alias). */
int policy_entry_parse(const char *s, size_t len, policy_entry_t *out);

/** Format an entry as dir-spec/torrc text ("accept 1.2.3.0/24:80-88",
 * "reject6 [fc00::]/7:*", "accept *:*", "reject *4:25").  Returns a new
 * string; caller frees (al_free). */
char *policy_entry_format(const policy_entry_t *e);

/** True if e matches addr:port (addr must not be NULL). */
bool policy_entry_matches(const policy_entry_t *e, const policy_addr_t *addr,
                          uint16_t port);

/** An ordered exit policy.  Owns its entry array. */
typedef struct policy_t {
  policy_entry_t *entries;
  size_t n;
  size_t cap;
} policy_t;

/** A new empty policy; caller frees with policy_free(). */
policy_t *policy_new(void);
void policy_free_(policy_t *p);
#define policy_free(p) do { policy_free_(p); (p) = NULL; } while (0)

/** Append a copy of e. */
void policy_append(policy_t *p, const policy_entry_t *e);

/** Parse one torrc entry (as policy_entry_parse, plus "private", which
 * expands to one rule per private network for both families, whatever the
 * keyword) and append it.  accept6/reject6 with an IPv4 address is ignored
 * with a warning (returns 0, appends nothing) as tor(1) documents.  On
 * error nothing is appended. */
int policy_add_entry(policy_t *p, const char *s, size_t len);

/** Parse a torrc ExitPolicy value: comma-separated entries.  Empty items
 * are skipped.  On error the policy is left as it was before the call. */
int policy_parse_config(policy_t *p, const char *value);

/** Append the reject rules for every private network (ports 1-65535) and
 * for each of the n given public addresses (as single hosts): the
 * ExitPolicyRejectPrivate 1 prefix. addrs may be NULL when n == 0. */
void policy_add_reject_private(policy_t *p, const policy_addr_t *addrs,
                               size_t n);

/** Append tor's default exit policy (tor(1) ExitPolicy). */
void policy_add_default_exit(policy_t *p);

/** True if the policy ends with a rule that matches every address of both
 * families on every port, so appending anything would be useless. */
bool policy_is_terminated(const policy_t *p);

typedef enum policy_result_t {
  POLICY_RESULT_ACCEPTED = 1,
  POLICY_RESULT_REJECTED = 2,
  POLICY_RESULT_PROBABLY_ACCEPTED = 3,
  POLICY_RESULT_PROBABLY_REJECTED = 4,
} policy_result_t;

/** Evaluate policy p for port and addr.  addr NULL (or family 0) means the
 * address is not yet known (a hostname the exit will resolve): rules that
 * only cover part of the address space may or may not apply, so the first
 * rule that covers every address decides, qualified as "probably" when an
 * earlier partial rule for that port had the opposite action.  Port 0 is
 * always REJECTED. */
policy_result_t policy_eval(const policy_t *p, const policy_addr_t *addr,
                            uint16_t port);

/** Longest summary text, including "accept "/"reject " (dir-spec 3.8.2). */
#define POLICY_SUMMARY_MAXLEN 1000

/** A port-list summary: "accept 80,443" or "reject 25,119". ranges are
 * sorted, non-overlapping, non-adjacent. */
typedef struct policy_summary_t {
  bool accept;
  size_t n;
  struct policy_port_range_t {
    uint16_t lo, hi;
  } ranges[POLICY_SUMMARY_MAXLEN / 2];
} policy_summary_t;

/** Parse "accept PortList" / "reject PortList" (dir-spec 3.4.1 "p").  Ports
 * 1..65535, each range lo <= hi, ranges strictly ascending and not
 * overlapping.  At most POLICY_SUMMARY_MAXLEN characters.  Returns 0 or a
 * POLICY_E_* code. */
int policy_summary_parse(const char *s, size_t len, policy_summary_t *out);

/** Format the summary (ranges merged); caller frees (al_free). */
char *policy_summary_format(const policy_summary_t *s);

/** Does the summary allow port?  Port 0 never. */
bool policy_summary_allows_port(const policy_summary_t *s, uint16_t port);

/** Summarize policy p for family 4 or 6 (dir-spec 3.8.2): a port counts as
 * accepted if it is accepted for "most addresses": accept rules count only
 * if they cover the whole family (prefix 0), reject rules only if they
 * cover at least half of it (prefix <= 1); smaller rules (private networks,
 * single hosts) are ignored.  Picks the shorter of the accept and reject lists (tie:
 * accept), "accept 1-65535" / "reject 1-65535" for all / none, and an
 * accept list truncated to POLICY_SUMMARY_MAXLEN characters when too long.
 * Returns 0, or POLICY_E_FAMILY for a bad family. */
int policy_summarize(const policy_t *p, int family, policy_summary_t *out);

#endif
