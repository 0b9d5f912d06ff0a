/* test_hs_service_stream.c -- BEGIN on a service's rendezvous circuit
 * (src/feature/hs_service/hs_service_stream.c): the port of tor's ":PORT"
 * form and of "host:PORT", malformed / truncated / oversized bodies, and
 * the tor(1) policy: mapped ports, several targets for one port, unknown
 * ports (close or END), HiddenServiceMaxStreams (ignore or close). */
#include <criterion/criterion.h>

#include <string.h>

#include "allium/feature/hs_service/hs_service_stream.h"
#include "allium/lib/conf/confline.h"

static hs_service_configs_t *
cfg_of(const char *text)
{
  config_line_t *l = NULL;
  char *err = NULL;
  hs_service_configs_t *c = NULL;
  cr_assert_eq(confline_parse_text(text, strlen(text), "t", &l, &err), 0);
  cr_assert_eq(hs_service_config_parse(l, &c, &err), 0, "%s", err ? err : "");
  confline_free(l);
  cr_assert_eq(c->n, 1);
  return c;
}

static int
port_of(const char *s, size_t len, uint16_t *p)
{
  return hs_service_begin_port((const uint8_t *)s, len, p);
}

Test(hs_service_stream, begin_port)
{
  uint16_t p = 7;
  cr_assert_eq(port_of(":80", 4, &p), 0);
  cr_assert_eq(p, 80);
  cr_assert_eq(port_of(":65535\0\0\0\0\x01", 11, &p), 0);
  cr_assert_eq(p, 65535);
  cr_assert_eq(port_of("x.onion:443", 12, &p), 0);
  cr_assert_eq(p, 443);
  cr_assert_eq(port_of("[::1]:22", 9, &p), 0);
  cr_assert_eq(p, 22);
  static const struct { const char *s; size_t n; } bad[] = {
    { ":80", 3 },              /* no NUL */
    { ":0", 3 },               /* port 0 */
    { ":65536", 7 },
    { ":", 2 },
    { "80", 3 },               /* no colon */
    { ":8a", 4 },
    { ":80\0\0\0", 6 },        /* truncated FLAGS */
    { ":80\0\0\0\0\0\0", 9 },  /* trailing */
    { "", 0 },
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    p = 7;
    cr_assert_eq(port_of(bad[i].s, bad[i].n, &p), -1, "accepted #%zu", i);
    cr_assert_eq(p, 0);
  }
  uint8_t big[600];
  memset(big, 'a', sizeof(big));
  memcpy(big + 490, ":80", 4);
  cr_assert_eq(hs_service_begin_port(big, 494, &p), 0);
  cr_assert_eq(hs_service_begin_port(big, 499, &p), -1);
  cr_assert_eq(hs_service_begin_port(NULL, 4, &p), -1);
  cr_assert_eq(hs_service_begin_port(big, 494, NULL), -1);
}

Test(hs_service_stream, mapped_and_unknown_ports)
{
  hs_service_configs_t *c = cfg_of(
      "HiddenServiceDir /tmp/x\nHiddenServicePort 80 127.0.0.1:8080\n"
      "HiddenServicePort 22 unix:/tmp/s\n");
  const hs_service_port_t *t = NULL;
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 80, 0, &t),
               HS_STREAM_ACCEPT);
  cr_assert_eq(t->target.port, 8080);
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 22, 5, &t),
               HS_STREAM_ACCEPT);
  cr_assert(t->is_unix);
  cr_assert_str_eq(t->unix_path, "/tmp/s");
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 81, 0, &t),
               HS_STREAM_CLOSE_CIRCUIT);
  cr_assert_null(t);
  c->svc[0].allow_unknown_ports = 1;
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 81, 0, &t),
               HS_STREAM_REFUSE);
  cr_assert_null(t);
  cr_assert_eq(hs_service_stream_decide(NULL, 80, 0, &t),
               HS_STREAM_CLOSE_CIRCUIT);
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 80, 0, NULL),
               HS_STREAM_CLOSE_CIRCUIT);
  cr_assert_str_eq(hs_stream_verdict_name(HS_STREAM_IGNORE),
                   "ignore (stream limit)");
  hs_service_configs_free(c);
}

Test(hs_service_stream, several_targets_all_chosen)
{
  hs_service_configs_t *c = cfg_of(
      "HiddenServiceDir /tmp/x\nHiddenServicePort 80 127.0.0.1:1\n"
      "HiddenServicePort 80 127.0.0.1:2\nHiddenServicePort 80 127.0.0.1:3\n");
  int seen[4] = { 0 };
  for (int i = 0; i < 300; i++) {
    const hs_service_port_t *t = NULL;
    cr_assert_eq(hs_service_stream_decide(&c->svc[0], 80, 0, &t),
                 HS_STREAM_ACCEPT);
    cr_assert(t->target.port >= 1 && t->target.port <= 3);
    seen[t->target.port]++;
  }
  /* P(a target never picked in 300 draws) < 3 * (2/3)^300 */
  cr_assert(seen[1] && seen[2] && seen[3]);
  hs_service_configs_free(c);
}

Test(hs_service_stream, max_streams)
{
  hs_service_configs_t *c = cfg_of(
      "HiddenServiceDir /tmp/x\nHiddenServicePort 80\n"
      "HiddenServiceMaxStreams 2\n");
  const hs_service_port_t *t = NULL;
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 80, 1, &t),
               HS_STREAM_ACCEPT);
  cr_assert_eq(t->target.port, 80);
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 80, 2, &t),
               HS_STREAM_IGNORE);
  cr_assert_null(t);
  c->svc[0].max_streams_close_circuit = 1;
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 80, 2, &t),
               HS_STREAM_CLOSE_CIRCUIT);
  c->svc[0].max_streams = 0;   /* unlimited */
  cr_assert_eq(hs_service_stream_decide(&c->svc[0], 80, 60000, &t),
               HS_STREAM_ACCEPT);
  hs_service_configs_free(c);
}
