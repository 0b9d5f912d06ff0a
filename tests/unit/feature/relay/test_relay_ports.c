/* test_relay_ports.c -- ORPort and Address parsing (tor(1) ORPort,
 * Address; src/feature/relay/relay_ports.c): the forms, the flags, their
 * contradictions, multi-line checks, malformed / truncated / oversized
 * input. */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/feature/relay/relay_ports.h"
#include "allium/lib/malloc/malloc.h"

static int
one(const char *v, relay_port_t out[2], size_t *n)
{
  char *err = NULL;
  int r = relay_port_parse_line(v, out, n, &err);
  if (r < 0) {
    cr_assert_not_null(err, "no message for \"%s\"", v);
    al_free(err);
  } else {
    cr_assert_null(err);
  }
  return r;
}

Test(relay_ports, port_only_gives_both_families)
{
  relay_port_t p[2];
  size_t n;
  cr_assert_eq(one("9001", p, &n), 0);
  cr_assert_eq(n, 2);
  cr_assert_eq(p[0].family, 4);
  cr_assert_eq(p[0].port, 9001);
  cr_assert_not(p[0].implicit);
  cr_assert_eq(p[1].family, 6);
  cr_assert_eq(p[1].port, 9001);
  cr_assert(p[1].implicit);
  cr_assert_eq(one("  9001   IPv4Only ", p, &n), 0);
  cr_assert_eq(n, 1);
  cr_assert_eq(p[0].family, 4);
  cr_assert_eq(one("9001 ipv6only", p, &n), 0);
  cr_assert_eq(n, 1);
  cr_assert_eq(p[0].family, 6);
  cr_assert_not(p[0].implicit);
}

Test(relay_ports, addresses_auto_and_zero)
{
  relay_port_t p[2];
  size_t n;
  cr_assert_eq(one("127.0.0.1:5000", p, &n), 0);
  cr_assert_eq(n, 1);
  cr_assert_eq(p[0].family, 4);
  cr_assert_eq(p[0].addr[0], 127);
  cr_assert_eq(p[0].addr[3], 1);
  cr_assert_eq(p[0].port, 5000);
  cr_assert_eq(one("[::1]:443 NoAdvertise", p, &n), 0);
  cr_assert_eq(n, 1);
  cr_assert_eq(p[0].family, 6);
  cr_assert_eq(p[0].addr[15], 1);
  cr_assert(p[0].no_advertise);
  cr_assert_eq(one("auto", p, &n), 0);
  cr_assert_eq(n, 2);
  cr_assert(p[0].is_auto);
  cr_assert_eq(one("10.0.0.1:auto NoListen", p, &n), 0);
  cr_assert(p[0].is_auto);
  cr_assert(p[0].no_listen);
  cr_assert_eq(one("0", p, &n), 0);
  cr_assert_eq(n, 0);
}

Test(relay_ports, bad_lines)
{
  relay_port_t p[2];
  size_t n;
  const char *bad[] = {
    "", "   ", "65536", "-1", "90x1", "example.com:9001", "1.2.3:9001",
    "1.2.3.4:", "1.2.3.4:0", "[::1:9001", "[::g]:9001", "::1:9001",
    "9001 NoListen NoAdvertise", "9001 IPv4Only IPv6Only",
    "127.0.0.1:9001 IPv6Only", "[::1]:9001 IPv4Only", "9001 Bogus",
    "9001 NoListenX", "auto:auto", "1.2.3.4:auto:5",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(one(bad[i], p, &n), -1, "accepted \"%s\"", bad[i]);
  char *big = al_malloc(4096);
  memset(big, '1', 4095);
  big[4095] = '\0';
  cr_assert_eq(one(big, p, &n), -1);
  memcpy(big, "9001 ", 5);
  memset(big + 5, ' ', 4090);
  cr_assert_eq(one(big, p, &n), -1, "oversized line accepted");
  al_free(big);
  cr_assert_eq(one(NULL, p, &n), -1);
}

static config_line_t *
lines(const char **v, size_t n)
{
  config_line_t *head = NULL, **tail = &head;
  for (size_t i = 0; i < n; i++) {
    config_line_t *l = al_calloc(1, sizeof(*l));
    l->key = al_strdup("ORPort");
    l->value = al_strdup(v[i]);
    *tail = l;
    tail = &l->next;
  }
  return head;
}

static void
lines_free(config_line_t *l)
{
  while (l) {
    config_line_t *n = l->next;
    al_free(l->key);
    al_free(l->value);
    al_free(l);
    l = n;
  }
}

static int
many(const char **v, size_t n, relay_ports_t *out)
{
  config_line_t *l = lines(v, n);
  char *err = NULL;
  int r = relay_ports_parse(l, out, &err);
  if (r < 0) {
    cr_assert_not_null(err);
    cr_assert(strstr(err, "ORPort"), "message: %s", err);
    al_free(err);
  }
  lines_free(l);
  return r;
}

Test(relay_ports, several_lines)
{
  relay_ports_t ps;
  const char *ok[] = { "1.2.3.4:443 NoListen", "127.0.0.1:9001 NoAdvertise",
                       "[2001:db8::1]:443" };
  cr_assert_eq(many(ok, 3, &ps), 0);
  cr_assert_eq(ps.n, 3);
  const relay_port_t *a4 = relay_ports_advertised(&ps, 4);
  const relay_port_t *a6 = relay_ports_advertised(&ps, 6);
  cr_assert_not_null(a4);
  cr_assert_eq(a4->port, 443);
  cr_assert_eq(a4->addr[0], 1);
  cr_assert_not_null(a6);
  cr_assert_eq(a6->addr[0], 0x20);
  relay_ports_clear(&ps);
  cr_assert_eq(ps.n, 0);

  const char *twice[] = { "9001", "127.0.0.1:9002" };
  cr_assert_eq(many(twice, 2, &ps), -1);
  const char *deaf[] = { "1.2.3.4:443 NoListen" };
  cr_assert_eq(many(deaf, 1, &ps), -1);
  const char *off[] = { "0" };
  cr_assert_eq(many(off, 1, &ps), 0);
  cr_assert_eq(ps.n, 0);
  relay_ports_clear(&ps);
  cr_assert_eq(relay_ports_parse(NULL, &ps, NULL), 0);
  cr_assert_eq(ps.n, 0);
  /* The implicit [::] twin is advertised only when nothing else is. */
  const char *one_line[] = { "9001" };
  cr_assert_eq(many(one_line, 1, &ps), 0);
  cr_assert_not_null(relay_ports_advertised(&ps, 6));
  relay_ports_clear(&ps);
}

Test(relay_ports, address_lines)
{
  const char *v[] = { "192.0.2.7", " [2001:db8::7] " };
  config_line_t *l = lines(v, 2);
  relay_address_t a;
  char *err = NULL;
  cr_assert_eq(relay_address_parse(l, false, &a, &err), 0);
  cr_assert(a.has_v4 && a.has_v6);
  cr_assert_eq(a.v4[0], 192);
  cr_assert_eq(a.v6[15], 7);
  cr_assert_eq(relay_address_parse(l, true, &a, &err), 0);
  cr_assert(a.has_v4);
  cr_assert_not(a.has_v6);
  lines_free(l);
  const char *bad[][2] = { { "relay.example.com", NULL },
                           { "192.0.2.7", "198.51.100.1" },
                           { "", NULL } };
  for (size_t i = 0; i < 3; i++) {
    l = lines(bad[i], bad[i][1] ? 2 : 1);
    cr_assert_eq(relay_address_parse(l, false, &a, &err), -1, "case %zu", i);
    cr_assert_not_null(err);
    al_free(err);
    err = NULL;
    lines_free(l);
  }
  cr_assert_eq(relay_address_parse(NULL, false, &a, NULL), 0);
  cr_assert_not(a.has_v4 || a.has_v6);
}
