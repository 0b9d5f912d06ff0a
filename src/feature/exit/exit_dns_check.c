/* exit_dns_check.c -- the exit resolver's start-up self-checks, tor(1)
 * ServerDNSDetectHijacking and ServerDNSTestAddresses (no torspec section:
 * relay behaviour documented in tor(1)).
 *
 * Hijacking: many ISPs' resolvers answer a name that does not exist with
 * the address of an advertising page.  An exit that passed those answers on
 * would connect its clients to that page instead of failing.  So, from the
 * loop right after start, the resolver looks up DNS_PROBES random names
 * (8 to 16 random letters) under .com, .org and .net, without search
 * domains; none of them should exist.  If any resolves, the resolver is
 * hijacked: the addresses seen are remembered (up to DNS_HIJACK_MAX) and
 * from then on an answer's addresses that are among them are dropped, an
 * answer left empty becoming EXIT_DNS_NOTFOUND -- what tor does.
 *
 * Test addresses: well-known names (tor's defaults unless configured) are
 * looked up once; any that fails is counted (exit_dns_stats_t
 * test_failures) and a warning logged, since an exit whose resolver cannot
 * find them is probably broken.  Names are logged only with SafeLogging 0.
 */
#define LOG_MODULE "exitdns"
#include "exit_dns_st.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "allium/lib/crypto/rand.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

/* Random names per TLD, and the TLDs. */
#define DNS_PROBES_PER_TLD 2
static const char *const probe_tlds[] = { "com", "org", "net" };
#define N_PROBE_TLDS (sizeof(probe_tlds) / sizeof(probe_tlds[0]))

static void
random_probe_name(char *buf, size_t buflen, const char *tld)
{
  size_t n = 8 + (size_t)crypto_rand_uint64(9);
  uint8_t r[16];
  crypto_rand(r, sizeof(r));
  size_t i = 0;
  for (; i < n && i + 1 < buflen; i++)
    buf[i] = (char)('a' + r[i] % 26);
  snprintf(buf + i, buflen - i, ".%s", tld);
}

static void
checks_maybe_report(exit_dns_t *dns)
{
  if (dns->probes_pending || dns->tests_pending || dns->check_ev)
    return;
  if (dns->hijacked)
    log_warn("Your DNS provider answered %u of %u lookups of names that do "
             "not exist: it is hijacking failed lookups.  Answers with the "
             "%zu address(es) it gave will be treated as failures "
             "(ServerDNSDetectHijacking).", dns->probes_resolved,
             (unsigned)(DNS_PROBES_PER_TLD * N_PROBE_TLDS),
             dns->n_hijack_addrs);
  if (dns->tests_failed)
    log_warn("%u of %zu ServerDNSTestAddresses did not resolve: the exit's "
             "DNS looks broken.", dns->tests_failed, dns->n_test_names);
  if (dns->tests_hijacked)
    log_warn("%u ServerDNSTestAddresses resolved only to hijacked "
             "addresses: the DNS provider lies even about well-known names.",
             dns->tests_hijacked);
}

static bool
addr_eq(const exit_dns_addr_t *a, const exit_dns_addr_t *b)
{
  return a->family == b->family &&
         memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

static void
hijack_remember(exit_dns_t *dns, const exit_dns_addr_t *a)
{
  for (size_t i = 0; i < dns->n_hijack_addrs; i++)
    if (addr_eq(&dns->hijack_addrs[i], a))
      return;
  if (dns->n_hijack_addrs < DNS_HIJACK_MAX)
    dns->hijack_addrs[dns->n_hijack_addrs++] = *a;
}

void
dns_checks_filter_(exit_dns_t *dns, dns_part_t *part)
{
  if (!dns->n_hijack_addrs || part->status != EXIT_DNS_OK || !part->n_addrs)
    return;
  size_t k = 0;
  for (size_t i = 0; i < part->n_addrs; i++) {
    bool bad = false;
    for (size_t j = 0; j < dns->n_hijack_addrs && !bad; j++)
      bad = addr_eq(&part->addrs[i], &dns->hijack_addrs[j]);
    if (!bad)
      part->addrs[k++] = part->addrs[i];
  }
  if (k == part->n_addrs)
    return;
  dns->stats.hijacked_answers++;
  part->n_addrs = k;
  if (k == 0)
    part->status = EXIT_DNS_NOTFOUND;
}

void
dns_checks_on_answer_(exit_dns_t *dns, dns_purpose_t purpose,
                      const dns_part_t *part)
{
  if (purpose == DNS_FOR_HIJACK_PROBE) {
    if (dns->probes_pending > 0)
      dns->probes_pending--;
    if (part->status == EXIT_DNS_OK && part->n_addrs) {
      dns->probes_resolved++;
      dns->hijacked = true;
      for (size_t i = 0; i < part->n_addrs; i++)
        hijack_remember(dns, &part->addrs[i]);
    }
  } else if (purpose == DNS_FOR_TEST_ADDRESS) {
    if (dns->tests_pending > 0)
      dns->tests_pending--;
    if (part->status != EXIT_DNS_OK) {
      dns->tests_failed++;
      dns->stats.test_failures++;
    } else {
      dns_part_t copy = *part;
      copy.hostname = NULL;
      dns_checks_filter_(dns, &copy);
      if (copy.status != EXIT_DNS_OK)
        dns->tests_hijacked++;
    }
  }
  checks_maybe_report(dns);
}

static void
checks_start(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  exit_dns_t *dns = arg;
  event_free(dns->check_ev);
  dns->check_ev = NULL;
  for (size_t t = 0; t < N_PROBE_TLDS && dns->detect_hijacking; t++) {
    for (int k = 0; k < DNS_PROBES_PER_TLD; k++) {
      char name[40];
      random_probe_name(name, sizeof(name), probe_tlds[t]);
      if (dns_lookup_launch_(dns, DNSQ_A, name, NULL, DNS_FOR_HIJACK_PROBE,
                             NULL))
        dns->probes_pending++;
    }
  }
  for (size_t i = 0; i < dns->n_test_names; i++) {
    if (dns_lookup_launch_(dns, DNSQ_A, dns->test_names[i], NULL,
                           DNS_FOR_TEST_ADDRESS, NULL)) {
      dns->tests_pending++;
    } else {
      dns->tests_failed++;
      dns->stats.test_failures++;
    }
  }
  checks_maybe_report(dns);
}

int
dns_checks_setup_(exit_dns_t *dns, const exit_dns_config_t *cfg)
{
  const char *const *names = cfg->test_addresses
                                 ? cfg->test_addresses
                                 : exit_dns_default_test_addresses;
  size_t n = 0;
  while (names[n])
    n++;
  dns->test_names = al_calloc(n ? n : 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    if (exit_dns_name_check(names[i], true) != EXIT_DNS_OK) {
      log_warn("Ignoring an invalid ServerDNSTestAddresses name \"%s\"",
               safe_str(names[i]));
      continue;
    }
    dns->test_names[dns->n_test_names++] = al_strdup(names[i]);
  }
  dns->detect_hijacking = cfg->detect_hijacking;
  if (!dns->detect_hijacking && !dns->n_test_names)
    return 0;
  dns->check_ev = event_new(dns->base, -1, 0, checks_start, dns);
  if (!dns->check_ev)
    return -1;
  event_active(dns->check_ev, EV_TIMEOUT, 0);
  return 0;
}

void
dns_checks_free_(exit_dns_t *dns)
{
  if (dns->check_ev)
    event_free(dns->check_ev);
  dns->check_ev = NULL;
  for (size_t i = 0; i < dns->n_test_names; i++)
    al_free(dns->test_names[i]);
  al_free(dns->test_names);
  dns->test_names = NULL;
  dns->n_test_names = 0;
}

bool
exit_dns_checks_done(const exit_dns_t *dns)
{
  return dns && !dns->check_ev && dns->probes_pending == 0 &&
         dns->tests_pending == 0;
}
