/* fake_dns.h -- a tiny UDP DNS responder on 127.0.0.1 for the exit
 * resolver's tests (RFC 1035 4.1 messages): answers A / AAAA / PTR per
 * name, NXDOMAIN, SERVFAIL, empty answers, silence (timeouts), and
 * malformed replies.  Runs on the test's event loop; never forwards
 * anything anywhere. */
#ifndef ALLIUM_TESTS_FAKE_DNS_H
#define ALLIUM_TESTS_FAKE_DNS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef enum fake_dns_action_t {
  FAKE_ANSWER = 0,     /**< the rule's records (A/AAAA/PTR) */
  FAKE_NXDOMAIN,       /**< rcode 3 */
  FAKE_SERVFAIL,       /**< rcode 2 */
  FAKE_NODATA,         /**< rcode 0, no answer */
  FAKE_DROP,           /**< no reply at all */
  FAKE_TRUNCATED,      /**< a reply cut after 7 bytes */
  FAKE_WRONG_ID,       /**< a reply with another id (then nothing) */
  FAKE_HUGE_COUNTS,    /**< header claims 65535 answers, none follow */
  FAKE_BAD_RDLENGTH,   /**< an answer whose rdlength runs past the end */
  FAKE_POINTER_LOOP,   /**< an answer name that points at itself */
  FAKE_WRONG_QUESTION, /**< a well-formed answer for another name */
  FAKE_TC_BIT,         /**< the truncation bit set, no answer */
  FAKE_RANDOM,         /**< right id and question, then random flags,
                            counts and 0..600 random bytes (rand()) */
} fake_dns_action_t;

typedef struct fake_dns_t fake_dns_t;

/** A responder on 127.0.0.1, a free port; NULL on failure. */
fake_dns_t *fake_dns_new(struct event_base *base);
/** The same on a given port (0: any). */
fake_dns_t *fake_dns_new_on(struct event_base *base, int port);
void fake_dns_free(fake_dns_t *f);
int fake_dns_port(const fake_dns_t *f);

/** qtype: 1 (A), 28 (AAAA), 12 (PTR), 0 (any).  name is matched without
 * regard to case.  data: for A 4*n bytes, AAAA 16*n bytes, PTR a
 * NUL-terminated name; n the number of records. */
void fake_dns_add(fake_dns_t *f, const char *name, int qtype,
                  fake_dns_action_t action, const void *data, size_t n,
                  uint32_t ttl);
/** What to do for a name without a rule (default FAKE_NXDOMAIN); for
 * FAKE_ANSWER, A queries get the one address a4. */
void fake_dns_default(fake_dns_t *f, fake_dns_action_t action,
                      const uint8_t a4[4]);
/** Queries received in all, and for name (any type). */
unsigned fake_dns_queries(const fake_dns_t *f);
unsigned fake_dns_queries_for(const fake_dns_t *f, const char *name);

#endif
