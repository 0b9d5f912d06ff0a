/* options_exit_dns.h -- the exit resolver's configuration from the torrc
 * (tor(1) ServerDNSResolvConfFile, ServerDNSSearchDomains,
 * ServerDNSDetectHijacking, ServerDNSTestAddresses,
 * ServerDNSAllowNonRFC953Hostnames, ServerDNSRandomizeCase).  See
 * include/allium/feature/exit/exit_dns.h for how the daemon builds the
 * resolver with it. */
#ifndef ALLIUM_APP_CONFIG_OPTIONS_EXIT_DNS_H
#define ALLIUM_APP_CONFIG_OPTIONS_EXIT_DNS_H

#include "allium/app/config/options.h"
#include "allium/feature/exit/exit_dns.h"

/** Fill *out from o.  out borrows o's strings: keep o alive until
 * exit_dns_new() returns (the resolver copies what it keeps).  An empty
 * ServerDNSTestAddresses means no test names. */
void options_exit_dns_config(const allium_options_t *o,
                             exit_dns_config_t *out);

#endif
