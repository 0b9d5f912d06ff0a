/* test_hs_service_config.c -- the onion service blocks of the configuration
 * (src/feature/hs_service/hs_service_config.c): HiddenServicePort targets,
 * per-service options with tor 0.4.9's limits, several services. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "allium/feature/hs_service/hs_service_config.h"
#include "allium/lib/malloc/malloc.h"

static void
port_ok(const char *v, uint16_t virt, int family, const char *addr4, uint16_t port)
{
  hs_service_port_t p;
  const char *why = NULL;
  cr_assert_eq(hs_service_port_parse(v, &p, &why), 0, "\"%s\" refused: %s", v,
               why ? why : "");
  cr_assert_eq(p.virt_port, virt, "%s", v);
  cr_assert_not(p.is_unix);
  cr_assert_eq(p.target.family, family, "%s", v);
  if (addr4) {
    uint8_t a[4];
    cr_assert_eq(sscanf(addr4, "%hhu.%hhu.%hhu.%hhu", &a[0], &a[1], &a[2], &a[3]), 4);
    cr_assert_arr_eq(p.target.addr, a, 4, "%s", v);
  }
  cr_assert_eq(p.target.port, port, "%s: port %u", v, p.target.port);
  hs_service_port_clear(&p);
}

Test(hs_service_config, port_targets)
{
  port_ok("80", 80, 4, "127.0.0.1", 80);
  port_ok("  80  ", 80, 4, "127.0.0.1", 80);
  port_ok("80 8080", 80, 4, "127.0.0.1", 8080);
  port_ok("080 08080", 80, 4, "127.0.0.1", 8080);
  port_ok("80 127.0.0.2", 80, 4, "127.0.0.2", 80);
  port_ok("80 10.1.2.3:81", 80, 4, "10.1.2.3", 81);
  port_ok("80 localhost", 80, 4, "127.0.0.1", 80);
  port_ok("80 localhost:81", 80, 4, "127.0.0.1", 81);
  port_ok("443 [::1]:8443", 443, 6, NULL, 8443);
  port_ok("443 [::1]", 443, 6, NULL, 443);
  port_ok("443 ::1", 443, 6, NULL, 443);
  port_ok("65535 65535", 65535, 4, "127.0.0.1", 65535);
}

Test(hs_service_config, port_unix)
{
  hs_service_port_t p;
  const char *why = NULL;
  cr_assert_eq(hs_service_port_parse("80 unix:/run/web.sock", &p, &why), 0);
  cr_assert(p.is_unix);
  cr_assert_str_eq(p.unix_path, "/run/web.sock");
  hs_service_port_clear(&p);
  cr_assert_eq(hs_service_port_parse("80 unix:\"/run/a b\\tc.sock\"", &p, &why), 0);
  cr_assert_str_eq(p.unix_path, "/run/a b\tc.sock");
  hs_service_port_clear(&p);
  cr_assert_null(p.unix_path);
}

Test(hs_service_config, port_refused)
{
  static const char *const bad[] = {
    "", " ", "0", "0 8080", "65536", "-1", "+80", "80a", "80 0", "80 65536",
    "80 127.0.0.1:0", "80 127.0.0.1:", "80 example.com", "80 example.com:80",
    "80 127.0.0.1:80 extra", "80 127.0.0.1:80,127.0.0.1:81", "80,81", "80 unix:",
    "80 unix:/a b", "80 unix:\"/a", "80 unix:\"\"", "80 unix:\"/a\" x", "80 [::1",
    "80 [nope]:80", "80 1.2.3.4.5", "80 :80", "80 localhost:", "80 localhost:0",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    hs_service_port_t p;
    const char *why = NULL;
    cr_assert_eq(hs_service_port_parse(bad[i], &p, &why), -1, "accepted \"%s\"", bad[i]);
    cr_assert_not_null(why);
    cr_assert_null(p.unix_path);
  }
}

static config_line_t *
lines_of(const char *text)
{
  config_line_t *l = NULL;
  char *err = NULL;
  cr_assert_eq(confline_parse_text(text, strlen(text), "t", &l, &err), 0, "%s", err);
  return l;
}

static hs_service_configs_t *
parse_ok(const char *text)
{
  config_line_t *l = lines_of(text);
  hs_service_configs_t *c = NULL;
  char *err = NULL;
  cr_assert_eq(hs_service_config_parse(l, &c, &err), 0, "%s", err ? err : "");
  confline_free(l);
  return c;
}

static void
parse_bad(const char *text, const char *want)
{
  config_line_t *l = lines_of(text);
  hs_service_configs_t *c = NULL;
  char *err = NULL;
  cr_assert_eq(hs_service_config_parse(l, &c, &err), -1, "accepted %s", text);
  cr_assert_null(c);
  cr_assert_not_null(strstr(err, want), "%s: got \"%s\", want \"%s\"", text, err, want);
  al_free(err);
  confline_free(l);
}

Test(hs_service_config, blocks_and_defaults)
{
  hs_service_configs_t *c = parse_ok("");
  cr_assert_eq(c->n, 0);
  hs_service_configs_free(c);
  c = parse_ok("HiddenServiceDir /a\nHiddenServicePort 80\n"
               "HiddenServiceDir /b\nHiddenServicePort 22 2222\nHiddenServicePort 80 "
               "unix:/s\nHiddenServiceNumIntroductionPoints 20\nHiddenServiceMaxStreams "
               "65535\nHiddenServiceMaxStreamsCloseCircuit 1\nHiddenServiceAllowUnknownPorts"
               " 1\nHiddenServiceDirGroupReadable 1\nHiddenServiceEnableIntroDoSDefense 1\n"
               "HiddenServiceEnableIntroDoSRatePerSec 7\n"
               "HiddenServiceEnableIntroDoSBurstPerSec 2147483647\nHiddenServiceVersion 3\n");
  cr_assert_eq(c->n, 2);
  const hs_service_config_t *a = &c->svc[0], *b = &c->svc[1];
  cr_assert_str_eq(a->dir, "/a");
  cr_assert_eq(a->n_ports, 1);
  cr_assert_eq(a->version, 3);
  cr_assert_eq(a->num_intro_points, 3);
  cr_assert_eq(a->max_streams, 0);
  cr_assert_eq(a->intro_dos_enabled, 0);
  cr_assert_eq(a->intro_dos_rate, 25);
  cr_assert_eq(a->intro_dos_burst, 200);
  cr_assert_eq(a->dir_group_readable, 0);
  cr_assert_str_eq(b->dir, "/b");
  cr_assert_eq(b->n_ports, 2);
  cr_assert_eq(b->ports[0].target.port, 2222);
  cr_assert(b->ports[1].is_unix);
  cr_assert_eq(b->num_intro_points, 20);
  cr_assert_eq(b->max_streams, 65535);
  cr_assert_eq(b->max_streams_close_circuit, 1);
  cr_assert_eq(b->allow_unknown_ports, 1);
  cr_assert_eq(b->dir_group_readable, 1);
  cr_assert_eq(b->intro_dos_enabled, 1);
  cr_assert_eq(b->intro_dos_rate, 7);
  cr_assert_eq(b->intro_dos_burst, 2147483647u);
  hs_service_configs_free(c);
  /* Repeated option: the last wins.  Burst below rate is fine while the
   * defence is off (tor checks it only then). */
  c = parse_ok("HiddenServiceDir /a\nHiddenServicePort 80\nHiddenServiceNumIntroductionPoints"
               " 4\nHiddenServiceNumIntroductionPoints 5\n"
               "HiddenServiceEnableIntroDoSRatePerSec 300\n"
               "HiddenServiceEnableIntroDoSBurstPerSec 100\n");
  cr_assert_eq(c->svc[0].num_intro_points, 5);
  hs_service_configs_free(c);
}

Test(hs_service_config, refusals)
{
  parse_bad("HiddenServicePort 80\n", "t:1: Option 'HiddenServicePort' must come after a "
            "HiddenServiceDir line");
  parse_bad("HiddenServiceDir /a\n", "HiddenServiceDir /a has no HiddenServicePort");
  parse_bad("HiddenServiceDir /a\nHiddenServiceDir /b\nHiddenServicePort 80\n",
            "t:1: HiddenServiceDir /a has no HiddenServicePort");
  parse_bad("HiddenServiceDir /a\nHiddenServicePort 80\nHiddenServiceDir /a\n"
            "HiddenServicePort 81\n", "t:3: Another onion service is already configured");
  parse_bad("HiddenServiceDir /a\nHiddenServicePort 0\n", "t:2: Option 'HiddenServicePort'");
  parse_bad("HiddenServiceDir /a\nHiddenServicePort 80\nHiddenServiceVersion 2\n",
            "version 2 are obsolete");
  parse_bad("HiddenServiceDir /a\nHiddenServicePort 80\nHiddenServiceVersion 4\n",
            "must be 3");
  static const char *const ranges[] = {
    "HiddenServiceNumIntroductionPoints 2", "HiddenServiceNumIntroductionPoints 21",
    "HiddenServiceNumIntroductionPoints -1", "HiddenServiceNumIntroductionPoints abc",
    "HiddenServiceMaxStreams 65536", "HiddenServiceMaxStreams -1",
    "HiddenServiceEnableIntroDoSRatePerSec 2147483648",
    "HiddenServiceEnableIntroDoSBurstPerSec 99999999999999999999999",
  };
  for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
    char *t = al_asprintf("HiddenServiceDir /a\nHiddenServicePort 80\n%s\n", ranges[i]);
    parse_bad(t, "must be between");
    al_free(t);
  }
  static const char *const bools[] = {
    "HiddenServiceMaxStreamsCloseCircuit", "HiddenServiceAllowUnknownPorts",
    "HiddenServiceDirGroupReadable", "HiddenServiceEnableIntroDoSDefense",
  };
  for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
    char *t = al_asprintf("HiddenServiceDir /a\nHiddenServicePort 80\n%s 2\n", bools[i]);
    parse_bad(t, "allowed values are 0 and 1");
    al_free(t);
  }
  parse_bad("HiddenServiceDir /a\nHiddenServicePort 80\nHiddenServiceEnableIntroDoSDefense 1\n"
            "HiddenServiceEnableIntroDoSRatePerSec 300\n"
            "HiddenServiceEnableIntroDoSBurstPerSec 100\n", "can not be smaller");
}
