/* relay_ports.c -- ORPort and Address in tor's syntax (tor(1) "ORPort",
 * "Address"), parsed without I/O.  See
 * include/allium/feature/relay/relay_ports.h. */
#include "allium/feature/relay/relay_ports.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "allium/lib/malloc/malloc.h"
#include "allium/lib/net/address.h"

/** Longest value looked at (anything longer is an error, not a truncation). */
#define RELAY_PORT_LINE_MAX 512

static int
fail(char **errmsg, const char *fmt, ...)
{
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (errmsg)
    *errmsg = al_strdup(buf);
  return -1;
}

/* Next blank-separated word of s from *pos: [*start, *end), or 0 at the end. */
static int
next_word(const char *s, size_t len, size_t *pos, size_t *start, size_t *end)
{
  size_t i = *pos;
  while (i < len && isspace((unsigned char)s[i]))
    i++;
  if (i == len)
    return 0;
  *start = i;
  while (i < len && !isspace((unsigned char)s[i]))
    i++;
  *end = *pos = i;
  return 1;
}

typedef struct port_flags_t {
  bool no_listen, no_advertise, v4only, v6only;
} port_flags_t;

static int
parse_flag(const char *w, size_t n, port_flags_t *f, char **errmsg)
{
  static const struct { const char *name; size_t off; } names[] = {
    { "NoListen", offsetof(port_flags_t, no_listen) },
    { "NoAdvertise", offsetof(port_flags_t, no_advertise) },
    { "IPv4Only", offsetof(port_flags_t, v4only) },
    { "IPv6Only", offsetof(port_flags_t, v6only) },
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strlen(names[i].name) == n && !strncasecmp(w, names[i].name, n)) {
      *(bool *)((char *)f + names[i].off) = true;
      return 0;
    }
  }
  return fail(errmsg, "unknown ORPort flag \"%.*s\" (allowed: NoListen, "
              "NoAdvertise, IPv4Only, IPv6Only)", (int)(n > 40 ? 40 : n), w);
}

/* The first word: "auto", a port, "v4:port" or "[v6]:port". */
static int
parse_target(const char *w, size_t n, relay_port_t *p, bool *addr_given,
             char **errmsg)
{
  memset(p, 0, sizeof(*p));
  *addr_given = false;
  if (n == 4 && !strncasecmp(w, "auto", 4)) {
    p->is_auto = true;
    p->family = 4;
    return 0;
  }
  if (net_port_parse(w, n, 0, &p->port) == 0) {
    p->family = 4;
    return 0;
  }
  const char *colon = NULL;
  for (size_t i = n; i > 0; i--)
    if (w[i - 1] == ':') {
      colon = w + i - 1;
      break;
    }
  if (!colon)
    return fail(errmsg, "\"%.*s\" is not a port, \"auto\" or ADDRESS:PORT",
                (int)(n > 60 ? 60 : n), w);
  size_t alen = (size_t)(colon - w), plen = n - alen - 1;
  if (plen == 4 && !strncasecmp(colon + 1, "auto", 4)) {
    p->is_auto = true;
  } else if (net_port_parse(colon + 1, plen, 1, &p->port) < 0) {
    return fail(errmsg, "bad port in \"%.*s\"", (int)(n > 60 ? 60 : n), w);
  }
  if (alen >= 2 && w[0] == '[' && w[alen - 1] == ']') {
    if (net_ipv6_parse(w + 1, alen - 2, p->addr) < 0)
      return fail(errmsg, "bad IPv6 address in \"%.*s\"",
                  (int)(n > 60 ? 60 : n), w);
    p->family = 6;
  } else if (net_ipv4_parse(w, alen, p->addr) == 0) {
    p->family = 4;
  } else {
    return fail(errmsg, "\"%.*s\" is not an IPv4 or [IPv6] address (host "
                "names are not supported here)", (int)(alen > 60 ? 60 : alen),
                w);
  }
  *addr_given = true;
  return 0;
}

int
relay_port_parse_line(const char *value, relay_port_t out[RELAY_PORTS_PER_LINE],
                      size_t *n_out, char **errmsg)
{
  size_t len = value ? strnlen(value, RELAY_PORT_LINE_MAX + 1) : 0;
  size_t pos = 0, a, b;
  relay_port_t p;
  port_flags_t f = { 0 };
  bool addr_given;
  *n_out = 0;
  if (len > RELAY_PORT_LINE_MAX)
    return fail(errmsg, "ORPort line too long");
  if (!next_word(value, len, &pos, &a, &b))
    return fail(errmsg, "empty ORPort line");
  if (parse_target(value + a, b - a, &p, &addr_given, errmsg) < 0)
    return -1;
  while (next_word(value, len, &pos, &a, &b))
    if (parse_flag(value + a, b - a, &f, errmsg) < 0)
      return -1;
  if (!p.is_auto && p.port == 0)
    return 0;   /* "0": disabled */
  if (f.no_listen && f.no_advertise)
    return fail(errmsg, "NoListen and NoAdvertise together leave nothing");
  if (f.v4only && f.v6only)
    return fail(errmsg, "IPv4Only and IPv6Only together leave nothing");
  if (addr_given && ((f.v4only && p.family != 4) ||
                     (f.v6only && p.family != 6)))
    return fail(errmsg, "the address family contradicts IPv%sOnly",
                f.v4only ? "4" : "6");
  p.no_listen = f.no_listen;
  p.no_advertise = f.no_advertise;
  if (addr_given) {
    out[(*n_out)++] = p;
    return 0;
  }
  if (!f.v6only)
    out[(*n_out)++] = p;
  if (!f.v4only) {
    relay_port_t v6 = p;
    v6.family = 6;
    v6.implicit = !f.v6only;
    out[(*n_out)++] = v6;
  }
  return 0;
}

void
relay_ports_clear(relay_ports_t *p)
{
  al_free(p->v);
  p->v = NULL;
  p->n = 0;
}

static bool
advertises(const relay_port_t *p)
{
  return !p->no_advertise && !p->implicit;
}

int
relay_ports_parse(const config_line_t *lines, relay_ports_t *out,
                  char **errmsg)
{
  size_t n_adv4 = 0, n_adv6 = 0, n_listen = 0, n_lines = 0;
  memset(out, 0, sizeof(*out));
  for (const config_line_t *l = lines; l; l = l->next)
    n_lines++;
  if (!n_lines)
    return 0;
  out->v = al_calloc(n_lines * RELAY_PORTS_PER_LINE, sizeof(relay_port_t));
  for (const config_line_t *l = lines; l; l = l->next) {
    size_t k;
    char *e = NULL;
    if (relay_port_parse_line(l->value, out->v + out->n, &k, &e) < 0) {
      fail(errmsg, "Option 'ORPort': %s", e);
      al_free(e);
      relay_ports_clear(out);
      return -1;
    }
    for (size_t i = 0; i < k; i++) {
      const relay_port_t *p = &out->v[out->n + i];
      n_adv4 += p->family == 4 && advertises(p);
      n_adv6 += p->family == 6 && advertises(p);
      n_listen += !p->no_listen;
    }
    out->n += k;
  }
  if (n_adv4 > 1 || n_adv6 > 1) {
    relay_ports_clear(out);
    return fail(errmsg, "Option 'ORPort': more than one advertised IPv%d "
                "ORPort (mark the others NoAdvertise)", n_adv4 > 1 ? 4 : 6);
  }
  if (out->n && !n_listen) {
    relay_ports_clear(out);
    return fail(errmsg, "Option 'ORPort': every ORPort is NoListen; add one "
                "to listen on (NoAdvertise)");
  }
  return 0;
}

const relay_port_t *
relay_ports_advertised(const relay_ports_t *p, int family)
{
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].family == family && advertises(&p->v[i]))
      return &p->v[i];
  /* The implicit [::] twin is advertised only if nothing else is. */
  for (size_t i = 0; family == 6 && i < p->n; i++)
    if (p->v[i].family == 6 && !p->v[i].no_advertise)
      return &p->v[i];
  return NULL;
}

int
relay_address_parse(const config_line_t *lines, bool disable_ipv6,
                    relay_address_t *out, char **errmsg)
{
  memset(out, 0, sizeof(*out));
  for (const config_line_t *l = lines; l; l = l->next) {
    const char *v = l->value;
    size_t n = strnlen(v, 256);
    while (n && isspace((unsigned char)v[n - 1]))
      n--;
    while (n && isspace((unsigned char)*v)) {
      v++;
      n--;
    }
    uint8_t a[16];
    if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
      v++;
      n -= 2;
    }
    if (net_ipv4_parse(v, n, a) == 0) {
      if (out->has_v4)
        return fail(errmsg, "Option 'Address': more than one IPv4 address");
      memcpy(out->v4, a, 4);
      out->has_v4 = true;
    } else if (net_ipv6_parse(v, n, a) == 0) {
      if (out->has_v6)
        return fail(errmsg, "Option 'Address': more than one IPv6 address");
      if (!disable_ipv6) {
        memcpy(out->v6, a, 16);
        out->has_v6 = true;
      }
    } else {
      return fail(errmsg, "Option 'Address': \"%.*s\" is not an IPv4 or "
                  "IPv6 address (host names are not supported yet)",
                  (int)(n > 60 ? 60 : n), v);
    }
  }
  return 0;
}
