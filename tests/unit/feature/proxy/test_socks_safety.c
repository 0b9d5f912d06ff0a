/* test_socks_safety.c -- tor(1) SafeSocks / TestSocks / WarnUnsafeSocks:
 * which SOCKS requests are unsafe (an IP address instead of a hostname),
 * what each option does, and that the log lines hide the address under
 * SafeLogging and are rate-limited. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/feature/proxy/socks.h"
#include "allium/lib/log/log.h"

static socks_request_t
req(uint8_t version, bool s4a, uint8_t cmd, uint8_t atyp)
{
  socks_request_t r;
  memset(&r, 0, sizeof(r));
  r.version = version;
  r.socks4a = s4a;
  r.command = cmd;
  r.target.atyp = atyp;
  r.target.port = 443;
  if (atyp == SOCKS_ATYP_HOSTNAME) {
    strcpy(r.target.hostname, "example.com");
  } else if (atyp == SOCKS_ATYP_IPV4) {
    r.target.addr[0] = 192;
    r.target.addr[1] = 0;
    r.target.addr[2] = 2;
    r.target.addr[3] = 7;
  } else if (atyp == SOCKS_ATYP_IPV6) {
    r.target.addr[0] = 0x20;
    r.target.addr[1] = 0x01;
    r.target.addr[2] = 0x0d;
    r.target.addr[3] = 0xb8;
    r.target.addr[15] = 9;
  }
  return r;
}

Test(socks_safety, which_requests_are_unsafe)
{
  socks_safety_cfg_t cfg = { false, false, false };
  socks_safety_t s;
  socks_request_t r = req(4, false, SOCKS_CMD_CONNECT, SOCKS_ATYP_IPV4);
  socks_request_safety(&r, &cfg, &s);
  cr_assert(s.unsafe, "SOCKS4 without 4a");
  cr_assert_str_eq(socks_request_protocol(&r), "socks4");
  r = req(4, true, SOCKS_CMD_CONNECT, SOCKS_ATYP_HOSTNAME);
  socks_request_safety(&r, &cfg, &s);
  cr_assert_not(s.unsafe, "SOCKS4a");
  cr_assert_str_eq(socks_request_protocol(&r), "socks4a");
  r = req(5, false, SOCKS_CMD_CONNECT, SOCKS_ATYP_IPV4);
  socks_request_safety(&r, &cfg, &s);
  cr_assert(s.unsafe, "SOCKS5 IPv4");
  cr_assert_str_eq(socks_request_protocol(&r), "socks5");
  r = req(5, false, SOCKS_CMD_CONNECT, SOCKS_ATYP_IPV6);
  socks_request_safety(&r, &cfg, &s);
  cr_assert(s.unsafe, "SOCKS5 IPv6");
  r = req(5, false, SOCKS_CMD_CONNECT, SOCKS_ATYP_HOSTNAME);
  socks_request_safety(&r, &cfg, &s);
  cr_assert_not(s.unsafe, "SOCKS5 hostname");
  /* resolves are not connections */
  r = req(5, false, SOCKS_CMD_RESOLVE_PTR, SOCKS_ATYP_IPV4);
  socks_request_safety(&r, &cfg, &s);
  cr_assert_not(s.unsafe);
  r = req(5, false, SOCKS_CMD_RESOLVE, SOCKS_ATYP_IPV4);
  socks_request_safety(&r, &cfg, &s);
  cr_assert_not(s.unsafe);
  /* NULL request: nothing */
  socks_request_safety(NULL, &cfg, &s);
  cr_assert_not(s.unsafe || s.refuse || s.warn || s.notice);
  cr_assert_str_eq(socks_request_protocol(NULL), "socks5");
}

Test(socks_safety, options)
{
  socks_request_t bad = req(5, false, SOCKS_CMD_CONNECT, SOCKS_ATYP_IPV4);
  socks_request_t good = req(5, false, SOCKS_CMD_CONNECT, SOCKS_ATYP_HOSTNAME);
  socks_safety_t s;
  /* tor's defaults: warn, do not refuse, no notice */
  socks_request_safety(&bad, NULL, &s);
  cr_assert(s.unsafe && s.warn && !s.refuse && !s.notice);
  socks_safety_cfg_t off = { false, false, false };
  socks_request_safety(&bad, &off, &s);
  cr_assert(s.unsafe && !s.warn && !s.refuse && !s.notice);
  socks_safety_cfg_t safe = { true, false, false };
  socks_request_safety(&bad, &safe, &s);
  cr_assert(s.refuse && s.warn, "refusing always warns");
  socks_request_safety(&good, &safe, &s);
  cr_assert(!s.refuse && !s.warn);
  socks_safety_cfg_t test = { false, true, true };
  socks_request_safety(&good, &test, &s);
  cr_assert(s.notice && !s.warn);
  socks_request_safety(&bad, &test, &s);
  cr_assert(s.notice && s.warn && !s.refuse);
}

static char logbuf[16384];
static int n_warn, n_notice;

static void
capture(int severity, const char *module, const char *msg, void *arg)
{
  (void)module;
  (void)arg;
  if (severity == SEV_WARN)
    n_warn++;
  if (severity == SEV_NOTICE)
    n_notice++;
  size_t n = strlen(logbuf);
  snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static void
capture_start(void)
{
  logbuf[0] = '\0';
  n_warn = n_notice = 0;
  log_sinks_clear();
  log_sink_add(LOG_SINK_CALLBACK, SEV_DEBUG, SEV_ERR, NULL, capture, NULL);
}

Test(socks_safety, log_scrubbed_and_rate_limited)
{
  capture_start();
  socks_request_t bad = req(5, false, SOCKS_CMD_CONNECT, SOCKS_ATYP_IPV6);
  socks_safety_cfg_t cfg = { true, true, true };
  socks_safety_t s;
  socks_request_safety(&bad, &cfg, &s);
  for (int i = 0; i < 1000; i++)
    socks_safety_log(&s, &bad, (uint64_t)i);
  log_sinks_reset_default();
  cr_assert_eq(n_warn, 1, "warnings: %d", n_warn);
  cr_assert_eq(n_notice, 20, "TestSocks notices: %d", n_notice);
  cr_assert(strstr(logbuf, "[scrubbed]"), "%s", logbuf);
  cr_assert_null(strstr(logbuf, "2001:db8"), "address leaked");
  cr_assert(strstr(logbuf, "socks5 to port 443"));
  cr_assert(strstr(logbuf, "SafeSocks 1"));
  /* NULL arguments: nothing */
  socks_safety_log(NULL, &bad, 0);
  socks_safety_log(&s, NULL, 0);
}

Test(socks_safety, log_shows_address_with_safelogging_0)
{
  capture_start();
  log_set_safe_logging(0);
  socks_request_t bad = req(4, false, SOCKS_CMD_CONNECT, SOCKS_ATYP_IPV4);
  socks_safety_t s;
  socks_request_safety(&bad, NULL, &s);
  socks_safety_log(&s, &bad, 1);
  socks_request_t good = req(4, true, SOCKS_CMD_CONNECT, SOCKS_ATYP_HOSTNAME);
  socks_safety_cfg_t test = { false, true, false };
  socks_request_safety(&good, &test, &s);
  socks_safety_log(&s, &good, 2);
  log_set_safe_logging(1);
  log_sinks_reset_default();
  cr_assert(strstr(logbuf, "(192.0.2.7)"), "%s", logbuf);
  cr_assert_null(strstr(logbuf, "Refusing"), "%s", logbuf);
  cr_assert(strstr(logbuf, "stream 2 (socks4a to port 443) left DNS resolution"),
            "%s", logbuf);
  cr_assert_null(strstr(logbuf, "example.com"), "hostnames are never logged here");
}
