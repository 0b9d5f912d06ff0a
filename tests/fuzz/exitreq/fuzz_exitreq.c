/* fuzz_exitreq.c -- fuzz target for the exit's BEGIN and RESOLVE body
 * parsers (src/feature/exit/exit_parse.c exit_begin_parse(),
 * exit_resolve_parse(); tor-spec 6.2, 6.4).  The first input byte picks the
 * parser (even: BEGIN, odd: RESOLVE); the rest is the relay message body.
 * Checks: on success a BEGIN has a port, a target that is either an address
 * literal of an allowed family or a name exit_name_ok() accepts; a RESOLVE
 * is exactly one of literal / PTR / name; a RESOLVED body built for it
 * decodes again.  Errors leave no partial result behind. */
#include <stdlib.h>
#include <string.h>

#include "../fuzzing.h"
#include "allium/feature/exit/exit_parse.h"

int
fuzz_init(void)
{
  return 0;
}

static void
check_begin(const uint8_t *body, size_t len)
{
  exit_begin_t b;
  int r = exit_begin_parse(body, len, &b);
  if (r < 0) {
    if (r != EXIT_PARSE_E_BODY && r != EXIT_PARSE_E_NAME &&
        r != EXIT_PARSE_E_FAMILY)
      abort();
    return;
  }
  if (b.port == 0 || (b.ipv6_preferred && !b.ipv6_ok))
    abort();
  if (b.is_name) {
    if (!exit_name_ok(b.name) || b.addr.family != 0 ||
        (!b.ipv4_ok && !b.ipv6_ok))
      abort();
  } else if (!((b.addr.family == 4 && b.ipv4_ok) ||
               (b.addr.family == 6 && b.ipv6_ok))) {
    abort();
  }
}

static void
check_resolve(const uint8_t *body, size_t len)
{
  exit_resolve_t r;
  uint8_t out[RELAY_BODY_MAX];
  size_t n;
  relay_resolved_t rr;
  if (exit_resolve_parse(body, len, &r) < 0)
    return;
  int kinds = (r.is_ptr ? 1 : 0) + (r.is_literal ? 1 : 0) +
              (r.name[0] ? 1 : 0);
  if (kinds != 1)
    abort();
  if (r.name[0] && !exit_name_ok(r.name))
    abort();
  if (r.is_ptr || r.is_literal) {
    if (r.addr.family != 4 && r.addr.family != 6)
      abort();
    if (exit_resolved_addr(&r.addr, 60, out, sizeof(out), &n) < 0 ||
        relay_resolved_decode(&rr, out, n) < 0 || rr.n != 1)
      abort();
  }
  if (r.name[0]) {
    /* a PTR-style answer naming what was asked */
    exit_dns_answer_t a;
    memset(&a, 0, sizeof(a));
    a.status = EXIT_DNS_OK;
    a.hostname = strlen(r.name) <= 255 ? r.name : NULL;
    if (a.hostname &&
        (exit_resolved_build(&a, true, true, out, sizeof(out), &n) < 0 ||
         relay_resolved_decode(&rr, out, n) < 0))
      abort();
  }
}

int
fuzz_one(const uint8_t *data, size_t len)
{
  if (len == 0)
    return 0;
  if (data[0] & 1)
    check_resolve(data + 1, len - 1);
  else
    check_begin(data + 1, len - 1);
  return 0;
}
