/* exit_parse.c -- sans-IO parsing for the exit: RELAY_BEGIN targets and
 * flags (tor-spec 6.2), RELAY_RESOLVE names incl. PTR names (6.4), the
 * RELAY_RESOLVED body from a resolver answer (6.4), and END reasons for
 * socket errors (6.3).  See include/allium/feature/exit/exit_parse.h. */
#include "allium/feature/exit/exit_parse.h"

#include <errno.h>
#include <string.h>

#include "allium/core/cell/relay_cell.h"

bool
exit_name_ok(const char *name)
{
  /* The resolver's own check, whatever ServerDNSAllowNonRFC953Hostnames
   * says (the resolver applies that one): lengths, labels, no blanks or
   * controls, never a .onion or .exit name (tor-spec 6.2). */
  return name && exit_dns_name_check(name, true) == EXIT_DNS_OK;
}

int
exit_begin_from(const char *host, uint16_t port, uint32_t flags,
                exit_begin_t *out)
{
  memset(out, 0, sizeof(*out));
  if (!host || port == 0)
    return EXIT_PARSE_E_BODY;
  out->port = port;
  out->ipv6_ok = (flags & RELAY_BEGIN_FLAG_IPV6_OK) != 0;
  out->ipv4_ok = (flags & RELAY_BEGIN_FLAG_IPV4_NOT_OK) == 0;
  out->ipv6_preferred = out->ipv6_ok &&
                        (flags & RELAY_BEGIN_FLAG_IPV6_PREFERRED) != 0;
  size_t n = strnlen(host, RELAY_HOST_MAX);
  if (n == 0 || n >= RELAY_HOST_MAX)
    return EXIT_PARSE_E_BODY;
  if (policy_addr_parse(host, n, &out->addr) == 0) {
    if ((out->addr.family == 4 && !out->ipv4_ok) ||
        (out->addr.family == 6 && !out->ipv6_ok))
      return EXIT_PARSE_E_FAMILY;
    return 0;
  }
  memset(&out->addr, 0, sizeof(out->addr));
  if (!exit_name_ok(host))
    return EXIT_PARSE_E_NAME;
  if (!out->ipv4_ok && !out->ipv6_ok)
    return EXIT_PARSE_E_FAMILY;
  out->is_name = true;
  memcpy(out->name, host, n + 1);
  return 0;
}

int
exit_begin_parse(const uint8_t *body, size_t len, exit_begin_t *out)
{
  relay_begin_t b;
  if (relay_begin_decode(&b, body, len) < 0) {
    memset(out, 0, sizeof(*out));
    return EXIT_PARSE_E_BODY;
  }
  return exit_begin_from(b.host, b.port, b.flags, out);
}

/* The reverse-name grammar lives with the resolver (exit_dns_name.c). */
int
exit_ptr_name_parse(const char *name, policy_addr_t *out)
{
  memset(out, 0, sizeof(*out));
  size_t n = name ? strnlen(name, EXIT_NAME_MAX) : 0;
  if (n == 0 || n >= EXIT_NAME_MAX)
    return EXIT_PARSE_E_NAME;
  exit_dns_addr_t a;
  if (exit_dns_reverse_name_parse(name, &a) != 1)
    return EXIT_PARSE_E_NAME;
  out->family = (uint8_t)a.family;
  memcpy(out->addr, a.addr, sizeof(out->addr));
  return 0;
}

int
exit_resolve_from(const char *name, exit_resolve_t *out)
{
  memset(out, 0, sizeof(*out));
  size_t n = name ? strnlen(name, RELAY_HOST_MAX) : 0;
  if (n == 0 || n >= RELAY_HOST_MAX)
    return EXIT_PARSE_E_BODY;
  if (policy_addr_parse(name, n, &out->addr) == 0) {
    out->is_literal = true;
    return 0;
  }
  memset(&out->addr, 0, sizeof(out->addr));
  if (exit_ptr_name_parse(name, &out->addr) == 0) {
    out->is_ptr = true;
    return 0;
  }
  memset(&out->addr, 0, sizeof(out->addr));
  if (!exit_name_ok(name))
    return EXIT_PARSE_E_NAME;
  memcpy(out->name, name, n + 1);
  return 0;
}

int
exit_resolve_parse(const uint8_t *body, size_t len, exit_resolve_t *out)
{
  relay_resolve_t r;
  if (relay_resolve_decode(&r, body, len) < 0) {
    memset(out, 0, sizeof(*out));
    return EXIT_PARSE_E_BODY;
  }
  return exit_resolve_from(r.name, out);
}

static void
answer_addr(relay_resolved_answer_t *x, const policy_addr_t *a, uint32_t ttl)
{
  x->type = a->family == 4 ? RELAY_RESOLVED_IPV4 : RELAY_RESOLVED_IPV6;
  x->len = a->family == 4 ? 4 : 16;
  x->value = a->addr;
  x->ttl = ttl;
}

int
exit_resolved_addr(const policy_addr_t *a, uint32_t ttl, uint8_t *out,
                   size_t outlen, size_t *len_out)
{
  relay_resolved_t r;
  if (!a || (a->family != 4 && a->family != 6))
    return -1;
  memset(&r, 0, sizeof(r));
  r.n = 1;
  answer_addr(&r.answers[0], a, ttl);
  return relay_resolved_encode(&r, out, outlen, len_out) < 0 ? -1 : 0;
}

int
exit_resolved_build(const exit_dns_answer_t *a, bool want_v4, bool want_v6,
                    uint8_t *out, size_t outlen, size_t *len_out)
{
  relay_resolved_t r;
  policy_addr_t addrs[EXIT_DNS_MAX_ADDRS];
  memset(&r, 0, sizeof(r));
  if (a->status == EXIT_DNS_OK && a->hostname) {
    size_t n = strnlen(a->hostname, 256);
    if (n == 0 || n > 255)
      return -1;
    r.answers[0].type = RELAY_RESOLVED_HOSTNAME;
    r.answers[0].len = (uint8_t)n;
    r.answers[0].value = (const uint8_t *)a->hostname;
    r.answers[0].ttl = a->ttl;
    r.n = 1;
  } else if (a->status == EXIT_DNS_OK) {
    size_t n = a->n_addrs < EXIT_DNS_MAX_ADDRS ? a->n_addrs
                                                : EXIT_DNS_MAX_ADDRS;
    for (size_t i = 0; i < n; i++) {
      exit_addr_from_dns(&a->addrs[i], &addrs[i]);
      if ((addrs[i].family == 4 && want_v4) ||
          (addrs[i].family == 6 && want_v6))
        answer_addr(&r.answers[r.n++], &addrs[i], a->ttl);
    }
  }
  if (r.n == 0) {
    /* 6.4: transient errors may be retried, others not. */
    r.answers[0].type = a->status == EXIT_DNS_TRANSIENT
                            ? RELAY_RESOLVED_ERROR_TRANSIENT
                            : RELAY_RESOLVED_ERROR_NONTRANSIENT;
    r.answers[0].ttl = a->ttl;
    r.n = 1;
  }
  return relay_resolved_encode(&r, out, outlen, len_out) < 0 ? -1 : 0;
}

uint8_t
exit_end_reason_for_errno(int err)
{
  switch (err) {
  case ECONNREFUSED:
    return RELAY_END_CONNECTREFUSED;
  case ETIMEDOUT:
    return RELAY_END_TIMEOUT;
  case ENETUNREACH:
  case EHOSTUNREACH:
  case ENETDOWN:
  case EHOSTDOWN:
    return RELAY_END_NOROUTE;
  case ECONNRESET:
  case EPIPE:
  case ECONNABORTED:
    return RELAY_END_CONNRESET;
  case EMFILE:
  case ENFILE:
  case ENOBUFS:
  case ENOMEM:
  case EADDRNOTAVAIL:
    return RELAY_END_RESOURCELIMIT;
  default:
    return RELAY_END_MISC;
  }
}

void
exit_addr_to_cell(const policy_addr_t *a, cell_addr_t *out)
{
  memset(out, 0, sizeof(*out));
  if (a->family == 4) {
    out->type = CELL_ADDR_IPV4;
    memcpy(out->addr, a->addr, 4);
  } else if (a->family == 6) {
    out->type = CELL_ADDR_IPV6;
    memcpy(out->addr, a->addr, 16);
  }
}

void
exit_addr_from_dns(const exit_dns_addr_t *a, policy_addr_t *out)
{
  memset(out, 0, sizeof(*out));
  if (a->family == 4) {
    out->family = 4;
    memcpy(out->addr, a->addr, 4);
  } else if (a->family == 6) {
    out->family = 6;
    memcpy(out->addr, a->addr, 16);
  }
}
