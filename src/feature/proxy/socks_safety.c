/* socks_safety.c -- is a SOCKS request "safe" (tor(1) SafeSocks, TestSocks,
 * WarnUnsafeSocks): a CONNECT that names its destination by IP address
 * (SOCKS4 without the 4a extension, SOCKS5 address types IPv4 and IPv6,
 * socks-extensions.txt) tells us the application resolved the hostname
 * itself, outside Tor, which may have leaked that name to the local
 * resolver.  SafeSocks refuses such requests, WarnUnsafeSocks warns about
 * them, TestSocks notes for every request whether it was safe.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "socks"
#include "allium/feature/proxy/socks.h"
#include "allium/lib/log/log.h"

void
socks_request_safety(const socks_request_t *req, const socks_safety_cfg_t *cfg,
                     socks_safety_t *out)
{
  static const socks_safety_cfg_t dflt = { false, false, true };
  memset(out, 0, sizeof(*out));
  if (!req)
    return;
  if (!cfg)
    cfg = &dflt;
  out->unsafe = req->command == SOCKS_CMD_CONNECT &&
                (req->target.atyp == SOCKS_ATYP_IPV4 ||
                 req->target.atyp == SOCKS_ATYP_IPV6);
  out->refuse = out->unsafe && cfg->safe_socks;
  out->warn = out->unsafe && (cfg->warn_unsafe || cfg->safe_socks);
  out->notice = cfg->test_socks;
}

const char *
socks_request_protocol(const socks_request_t *req)
{
  if (!req || req->version != 4)
    return "socks5";
  return req->socks4a ? "socks4a" : "socks4";
}

/* At most max messages per window seconds; returns 1 when one may go out
 * and then *dropped gets the number held back since the last one. */
typedef struct burst_lim_t {
  long long window_start;
  unsigned n, dropped;
} burst_lim_t;

static int
burst_check(burst_lim_t *b, unsigned max, long long window, unsigned *dropped)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long now = (long long)ts.tv_sec;
  if (b->n == 0 || now - b->window_start >= window) {
    b->window_start = now;
    b->n = 0;
  }
  if (b->n >= max) {
    b->dropped++;
    return 0;
  }
  b->n++;
  *dropped = b->dropped;
  b->dropped = 0;
  return 1;
}

static void
target_text(const socks_request_t *req, char *out, size_t outlen)
{
  const socks_addr_t *t = &req->target;
  out[0] = '\0';
  if (t->atyp == SOCKS_ATYP_HOSTNAME)
    snprintf(out, outlen, "%s", t->hostname);
  else if (t->atyp == SOCKS_ATYP_IPV4 || t->atyp == SOCKS_ATYP_IPV6)
    (void)inet_ntop(t->atyp == SOCKS_ATYP_IPV4 ? AF_INET : AF_INET6, t->addr,
                    out, (socklen_t)outlen);
}

/* " [N similar messages suppressed]" when n > 0, else "". */
static const char *
suppressed_text(unsigned n, char *buf, size_t len)
{
  buf[0] = '\0';
  if (n)
    snprintf(buf, len, " [%u similar messages suppressed]", n);
  return buf;
}

void
socks_safety_log(const socks_safety_t *sf, const socks_request_t *req,
                 uint64_t stream)
{
  static log_ratelim_t warn_rl = LOG_RATELIM_INIT(300);
  static burst_lim_t notice_rl = { 0, 0, 0 };
  if (!sf || !req)
    return;
  char addr[SOCKS_MAX_FIELD + 1], sup[48];
  unsigned dropped = 0;
  if (sf->warn && log_ratelim_check(&warn_rl, &dropped)) {
    target_text(req, addr, sizeof(addr));
    log_warn("Your application (using %s to port %u) gave allium an IP "
             "address (%s) instead of a hostname: it resolved the name "
             "itself, which may have leaked it to your DNS resolver.  Use a "
             "SOCKS mode that passes hostnames (socks4a, socks5 with remote "
             "DNS).%s%s",
             socks_request_protocol(req), req->target.port, safe_str(addr),
             sf->refuse ? "  Refusing the request (SafeSocks 1)." : "",
             suppressed_text(dropped, sup, sizeof(sup)));
  }
  if (sf->notice && burst_check(&notice_rl, 20, 60, &dropped)) {
    if (sf->unsafe) {
      target_text(req, addr, sizeof(addr));
      log_notice("TestSocks: stream %llu (%s to port %u) gave an IP address "
                 "(%s): unsafe, the application resolved DNS itself.%s%s", (unsigned long long)stream,
                 socks_request_protocol(req), req->target.port, safe_str(addr),
                 sf->refuse ? "  Refused (SafeSocks 1)." : "",
                 suppressed_text(dropped, sup, sizeof(sup)));
    } else {
      log_notice("TestSocks: stream %llu (%s to port %u) left DNS resolution "
                 "to allium: safe.%s",
                 (unsigned long long)stream, socks_request_protocol(req),
                 req->target.port, suppressed_text(dropped, sup, sizeof(sup)));
    }
  }
}
