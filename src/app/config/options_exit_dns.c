/* options_exit_dns.c -- exit_dns_config_t from the options (tor(1)
 * ServerDNS* options; the resolver is feature/exit/exit_dns.c).  See
 * include/allium/app/config/options_exit_dns.h. */
#include "allium/app/config/options_exit_dns.h"

#include <string.h>

void
options_exit_dns_config(const allium_options_t *o, exit_dns_config_t *out)
{
  static const char *const no_names[] = { NULL };
  memset(out, 0, sizeof(*out));
  out->resolv_conf = o->ServerDNSResolvConfFile;
  out->search_domains = o->ServerDNSSearchDomains != 0;
  out->detect_hijacking = o->ServerDNSDetectHijacking != 0;
  /* The option's default is tor's list; set to nothing, it is NULL. */
  out->test_addresses = o->ServerDNSTestAddresses
                            ? (const char *const *)o->ServerDNSTestAddresses
                            : no_names;
  out->allow_non_rfc953 = o->ServerDNSAllowNonRFC953Hostnames != 0;
  out->no_randomize_case = o->ServerDNSRandomizeCase == 0;
}
