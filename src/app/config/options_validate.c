/* options_validate.c -- cross-option and value-syntax checks for allium's
 * options, following the constraints tor(1) documents for the same options
 * (Nickname syntax, relays need a DataDirectory, BandwidthBurst >=
 * BandwidthRate, Log line syntax, ExitPolicy syntax, onion service blocks),
 * and allium's own rule: an option that is not supported yet and whose
 * absence would expose the user is refused unless left at its default
 * (the rows flagged CONF_FLAG_REFUSED in options_table.c), as are country
 * codes in node lists (no GeoIP database yet).
 */
#define LOG_MODULE "config"
#include "allium/app/config/options.h"
#include "allium/core/policy/policy.h"
#include "allium/feature/client/client_ctl_args.h"
#include "allium/feature/dirclient/dir_authority.h"
#include "allium/feature/dirclient/dir_fallback.h"
#include "allium/feature/hs_service/hs_service_config.h"
#include "allium/feature/metrics/metrics_port.h"
#include "allium/feature/relay/relay_acct.h"
#include "allium/feature/relay/relay_ports.h"
#include "options_table.h"

#include "allium/lib/log/log.h"
#include "allium/lib/log/log_config.h"
#include "allium/lib/malloc/malloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char **errmsg, const config_line_t *ln, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* Set *errmsg (prefixed with ln's location when ln); returns -1. */
static int
fail(char **errmsg, const config_line_t *ln, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  al_free(*errmsg);
  if (ln && ln->source)
    *errmsg = al_asprintf("%s:%d: %s", ln->source, ln->lineno, buf);
  else
    *errmsg = al_strdup(buf);
  return -1;
}

/* Log: parsed by the log module itself, so the grammar lives in one place. */
static int
check_log_line(const config_line_t *ln, char **errmsg)
{
  log_sink_spec_t spec;
  char *why = NULL;
  if (log_sink_spec_parse(ln->value, &spec, &why) < 0) {
    const char *w = why ? why : "invalid log line";
    if (!strncmp(w, "Log: ", 5))
      w += 5;
    int r = fail(errmsg, ln, "Option 'Log': %s", w);
    al_free(why);
    return r;
  }
  log_sink_spec_clear(&spec);
  return 0;
}

/* One ExitPolicy item, through the policy parser the exit uses
 * (core/policy: accept|reject[6] ADDRESS[/MASK][:PORT[-PORT]], "*", "*4",
 * "*6", "private"), so --verify-config refuses what the relay would. */
static int
check_policy_item(const config_line_t *ln, const char *it, size_t n,
                  char **errmsg)
{
  while (n && isspace((unsigned char)*it)) {
    it++;
    n--;
  }
  while (n && isspace((unsigned char)it[n - 1]))
    n--;
  if (n == 0)
    return 0;
  policy_t *p = policy_new();
  int r = policy_add_entry(p, it, n);
  policy_free(p);
  if (r == 0)
    return 0;
  return fail(errmsg, ln, "Option '%s': \"%.*s\" is not a policy entry "
              "(%s; expected accept|reject[6] ADDRESS[/MASK][:PORT[-PORT]])",
              ln->key, (int)(n > 64 ? 64 : n), it,
              r == POLICY_E_MASK ? "bad mask"
              : r == POLICY_E_PORT ? "bad port or port range"
              : r == POLICY_E_TOOLONG ? "too long" : "syntax");
}

static int
check_policy_list(const config_line_t *lines, char **errmsg)
{
  for (const config_line_t *ln = lines; ln; ln = ln->next) {
    const char *p = ln->value;
    for (;;) {
      const char *comma = strchr(p, ',');
      size_t n = comma ? (size_t)(comma - p) : strlen(p);
      if (check_policy_item(ln, p, n, errmsg) < 0)
        return -1;
      if (!comma)
        break;
      p = comma + 1;
    }
  }
  return 0;
}

/* MetricsPort lines: "[address:]port [prometheus]" (tor(1)). */
static int
check_metrics_ports(const config_line_t *lines, char **errmsg)
{
  for (const config_line_t *ln = lines; ln; ln = ln->next) {
    metrics_port_cfg_t c;
    char *why = NULL;
    if (metrics_port_parse(ln->value, &c, &why) < 0) {
      int r = fail(errmsg, ln, "%s", why);
      al_free(why);
      return r;
    }
  }
  return 0;
}

/* DirAuthority / AlternateDirAuthority lines: parsed by the directory
 * client's own parser, so --verify-config sees what the client will. */
static int
check_dir_authorities(const config_line_t *lines, char **errmsg)
{
  for (const config_line_t *ln = lines; ln; ln = ln->next) {
    dir_authority_t a;
    char *why = NULL;
    if (dir_authority_parse(ln->value, &a, &why) < 0) {
      fail(errmsg, ln, "Option '%s': \"%s\": %s", ln->key, ln->value,
           why ? why : "malformed");
      al_free(why);
      return -1;
    }
  }
  return 0;
}

/* FallbackDir lines: the directory client's parser (dir_fallback.h). */
static int
check_fallback_dirs(const config_line_t *lines, char **errmsg)
{
  for (const config_line_t *ln = lines; ln; ln = ln->next) {
    dir_fallback_t f;
    char *why = NULL;
    if (dir_fallback_parse(ln->value, &f, &why) < 0) {
      fail(errmsg, ln, "Option '%s': \"%s\": %s", ln->key, ln->value,
           why ? why : "malformed");
      al_free(why);
      return -1;
    }
  }
  return 0;
}

static int
check_nickname(const char *nick, char **errmsg)
{
  size_t n = strlen(nick);
  int ok = n >= 1 && n <= 19;
  for (size_t i = 0; ok && i < n; i++)
    if (!isalnum((unsigned char)nick[i]) || (unsigned char)nick[i] > 127)
      ok = 0;
  if (!ok)
    return fail(errmsg, NULL, "Option 'Nickname': \"%.64s\" is not a "
                "nickname (expected 1-19 letters and digits)", nick);
  return 0;
}

/* Does a *Port list open at least one listener? */
static int
ports_enabled(const config_line_t *ln)
{
  for (; ln; ln = ln->next) {
    size_t n = strcspn(ln->value, " \t");
    if (!(n == 1 && ln->value[0] == '0'))
      return 1;
  }
  return 0;
}

/* Onion service blocks (feature/hs_service/hs_service_config.h) and the
 * single-onion pair (tor(1): each needs the other, and a non-anonymous
 * instance may not be an anonymous client: SocksPort 0, no HTTPTunnelPort).
 * *n_services gets the number of services configured. */
static int
check_onion_services(const allium_options_t *o, size_t *n_services, char **errmsg)
{
  hs_service_configs_t *c = NULL;
  *n_services = 0;
  if (hs_service_config_parse(o->HiddenServiceOptions, &c, errmsg) < 0)
    return -1;
  *n_services = c->n;
  hs_service_configs_free(c);
  if (o->HiddenServiceSingleHopMode && !o->HiddenServiceNonAnonymousMode)
    return fail(errmsg, NULL, "HiddenServiceSingleHopMode does not provide any server "
                "anonymity. It must be used with HiddenServiceNonAnonymousMode set to 1.");
  if (o->HiddenServiceNonAnonymousMode && !o->HiddenServiceSingleHopMode)
    return fail(errmsg, NULL, "HiddenServiceNonAnonymousMode does not provide any server "
                "anonymity. It must be used with HiddenServiceSingleHopMode set to 1.");
  if (o->HiddenServiceNonAnonymousMode &&
      (ports_enabled(o->SocksPort) || ports_enabled(o->HTTPTunnelPort)))
    return fail(errmsg, NULL, "HiddenServiceNonAnonymousMode is incompatible with using "
                "allium as an anonymous client. Please set SocksPort and HTTPTunnelPort "
                "to 0, or revert HiddenServiceNonAnonymousMode to 0.");
  return 0;
}

/* ORPort lines and Address in tor's syntax (feature/relay/relay_ports.h). */
static int
check_relay_ports(const allium_options_t *o, char **errmsg)
{
  relay_ports_t ports;
  relay_address_t addr;
  if (relay_ports_parse(o->ORPort, &ports, errmsg) < 0)
    return -1;
  relay_ports_clear(&ports);
  return relay_address_parse(o->Address, o->AddressDisableIPv6 != 0, &addr,
                             errmsg);
}

/* tor(1): every Bandwidth option fits in 31 bits; a relay needs at least
 * 75 KBytes/s (76800 bytes), MaxAdvertisedBandwidth at least half that. */
#define BW_RELAY_MIN 76800u
#define BW_MAX 2147483647u

static int
check_bandwidth(const allium_options_t *o, char **errmsg)
{
  const struct { const char *name; uint64_t v; } all[] = {
    { "BandwidthRate", o->BandwidthRate },
    { "BandwidthBurst", o->BandwidthBurst },
    { "RelayBandwidthRate", o->RelayBandwidthRate },
    { "RelayBandwidthBurst", o->RelayBandwidthBurst },
    { "MaxAdvertisedBandwidth", o->MaxAdvertisedBandwidth },
  };
  for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
    if (all[i].v > BW_MAX)
      return fail(errmsg, NULL, "Option '%s' (%llu) must be at most %u",
                  all[i].name, (unsigned long long)all[i].v, BW_MAX);
  if (!ports_enabled(o->ORPort) || o->ClientOnly)
    return 0;
  if (o->BandwidthRate < BW_RELAY_MIN)
    return fail(errmsg, NULL, "BandwidthRate is set to %llu bytes/second. "
                "For servers, it must be at least %u.",
                (unsigned long long)o->BandwidthRate, BW_RELAY_MIN);
  if (o->RelayBandwidthRate && o->RelayBandwidthRate < BW_RELAY_MIN)
    return fail(errmsg, NULL, "RelayBandwidthRate is set to %llu "
                "bytes/second. For servers, it must be at least %u.",
                (unsigned long long)o->RelayBandwidthRate, BW_RELAY_MIN);
  if (o->MaxAdvertisedBandwidth < BW_RELAY_MIN / 2)
    return fail(errmsg, NULL, "MaxAdvertisedBandwidth is set to %llu "
                "bytes/second. For servers, it must be at least %u.",
                (unsigned long long)o->MaxAdvertisedBandwidth,
                BW_RELAY_MIN / 2);
  return 0;
}

/* AccountingStart and AccountingRule syntax (feature/relay/relay_acct.h). */
static int
check_accounting(const allium_options_t *o, char **errmsg)
{
  relay_acct_start_t st;
  relay_acct_rule_t rule;
  char *why = NULL;
  if (relay_acct_parse_start(o->AccountingStart, &st, &why) < 0) {
    int r = fail(errmsg, NULL, "Option %s", why);
    al_free(why);
    return r;
  }
  if (relay_acct_parse_rule(o->AccountingRule, &rule) < 0)
    return fail(errmsg, NULL, "Option 'AccountingRule': \"%.16s\" is not "
                "valid (expected sum, max, in or out)", o->AccountingRule);
  return 0;
}

static int
check_relay(const allium_options_t *o, char **errmsg)
{
  if (o->Nickname && check_nickname(o->Nickname, errmsg) < 0)
    return -1;
  if (ports_enabled(o->ORPort) && !o->ClientOnly && !o->DataDirectory)
    return fail(errmsg, NULL, "Option 'DataDirectory' is required for a "
                "relay (ORPort is set)");
  if (check_relay_ports(o, errmsg) < 0)
    return -1;
  if (o->BandwidthBurst < o->BandwidthRate)
    return fail(errmsg, NULL, "Option 'BandwidthBurst' must be at least "
                "BandwidthRate");
  if (o->RelayBandwidthRate && o->RelayBandwidthBurst &&
      o->RelayBandwidthBurst < o->RelayBandwidthRate)
    return fail(errmsg, NULL, "Option 'RelayBandwidthBurst' must be at "
                "least RelayBandwidthRate");
  if (check_bandwidth(o, errmsg) < 0 || check_accounting(o, errmsg) < 0)
    return -1;
  return check_policy_list(o->ExitPolicy, errmsg);
}

/* Node lists: "{cc}" would match nothing (no GeoIP yet), so ExcludeNodes
 * {cc} would exclude nothing: refused in every node list. */
static int
check_node_list(const char *name, char *const *csv, char **errmsg)
{
  for (size_t i = 0; csv && csv[i]; i++)
    if (strchr(csv[i], '{'))
      return fail(errmsg, NULL, "Option '%s': country codes (\"%.16s\") "
                  "are not supported yet (allium has no GeoIP database); "
                  "list fingerprints or nicknames", name, csv[i]);
  return 0;
}

static int
check_node_lists(const allium_options_t *o, char **errmsg)
{
  if (check_node_list("EntryNodes", o->EntryNodes, errmsg) < 0 ||
      check_node_list("ExitNodes", o->ExitNodes, errmsg) < 0 ||
      check_node_list("ExcludeNodes", o->ExcludeNodes, errmsg) < 0 ||
      check_node_list("ExcludeExitNodes", o->ExcludeExitNodes, errmsg) < 0)
    return -1;
  return 0;
}

/* Every refused option set to a non-default value, named in one error. */
static int
check_refused(const allium_options_t *o, char **errmsg)
{
  char *names = conf_refused_names(&options_format, o);
  if (!names)
    return 0;
  int many = strchr(names, ',') != NULL;
  al_free(*errmsg);
  *errmsg = al_asprintf("Option%s %s %s not supported yet: allium refuses "
                        "to start rather than ignore %s, which could send "
                        "traffic where you asked it not to go. Remove %s or "
                        "set %s to %s default%s.", many ? "s" : "", names,
                        many ? "are" : "is", many ? "them" : "it",
                        many ? "them" : "it", many ? "them" : "it",
                        many ? "their" : "its", many ? "s" : "");
  al_free(names);
  return -1;
}

/* DoS*DefenseType (tor(1)): 0 (the consensus), 1 (none), 2 (refuse) --
 * and 3 (close the circuit) for streams.  tor accepts any integer and
 * acts on none of the others; a typo here would silently leave a relay
 * undefended, so it is an error. */
static int
check_dos(const allium_options_t *o, char **errmsg)
{
  static const struct {
    const char *name;
    size_t off;
    int max;
  } types[] = {
    { "DoSCircuitCreationDefenseType",
      offsetof(allium_options_t, DoSCircuitCreationDefenseType), 2 },
    { "DoSConnectionDefenseType",
      offsetof(allium_options_t, DoSConnectionDefenseType), 2 },
    { "DoSStreamCreationDefenseType",
      offsetof(allium_options_t, DoSStreamCreationDefenseType), 3 },
  };
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    int v = *(const int *)(const void *)((const char *)o + types[i].off);
    if (v < 0 || v > types[i].max)
      return fail(errmsg, NULL, "Option '%s': %d is not a defense type "
                  "(expected 0 for the consensus value, 1 for none, 2 to "
                  "refuse%s)", types[i].name, v,
                  types[i].max == 3 ? ", 3 to close the circuit" : "");
  }
  return 0;
}

/* MapAddress (tor(1)): "address newaddress".  Wildcards ("*.example.com")
 * and anything else the client's address map cannot hold are errors, not
 * skipped: a mapping the user relies on that silently does not apply would
 * send the stream to the unmapped address. */
static int
check_map_address(const config_line_t *lines, char **errmsg)
{
  size_t n = 0;
  for (const config_line_t *l = lines; l; l = l->next) {
    char from[256], to[256], extra[2];
    int k = sscanf(l->value, "%255s %255s %1s", from, to, extra);
    if (k != 2 || !client_ctl_addr_ok(from) || !client_ctl_addr_ok(to))
      return fail(errmsg, l, "Option 'MapAddress': \"%s\" is not "
                  "\"address newaddress\" (host names or IP addresses; "
                  "wildcards are not supported)", l->value);
    if (++n > CLIENT_ADDRMAP_MAX)
      return fail(errmsg, l, "Option 'MapAddress': more than %d "
                  "mappings", CLIENT_ADDRMAP_MAX);
  }
  return 0;
}

int
options_validate(const allium_options_t *o, char **errmsg)
{
  if (o->Sandbox)
    return fail(errmsg, NULL, "Option 'Sandbox': \"1\" is not supported "
                "(expected 0)");
  for (const config_line_t *ln = o->Log; ln; ln = ln->next)
    if (check_log_line(ln, errmsg) < 0)
      return -1;
  if (check_relay(o, errmsg) < 0)
    return -1;
  if (check_policy_list(o->SocksPolicy, errmsg) < 0 ||
      check_policy_list(o->MetricsPortPolicy, errmsg) < 0 ||
      check_metrics_ports(o->MetricsPort, errmsg) < 0 ||
      check_map_address(o->MapAddress, errmsg) < 0)
    return -1;
  if (!o->ClientUseIPv4 && !o->ClientUseIPv6)
    return fail(errmsg, NULL, "ClientUseIPv4 0 and ClientUseIPv6 0 leave "
                "no address family to reach relays with: set one to 1");
  if (check_dir_authorities(o->DirAuthority, errmsg) < 0 ||
      check_dir_authorities(o->AlternateDirAuthority, errmsg) < 0 ||
      check_fallback_dirs(o->FallbackDir, errmsg) < 0)
    return -1;
  if (o->DirAuthority && o->AlternateDirAuthority)
    return fail(errmsg, NULL, "You cannot set both DirAuthority and "
                "AlternateDirAuthority");
  size_t n_services = 0;
  if (check_onion_services(o, &n_services, errmsg) < 0)
    return -1;
  if (o->TestingTorNetwork && !o->DirAuthority &&
      !(o->AlternateDirAuthority && o->AlternateBridgeAuthority))
    return fail(errmsg, NULL, "Option 'TestingTorNetwork' needs "
                "DirAuthority lines (or both AlternateDirAuthority and "
                "AlternateBridgeAuthority)");
  if (check_node_lists(o, errmsg) < 0 || check_refused(o, errmsg) < 0)
    return -1;
  if (check_dos(o, errmsg) < 0)
    return -1;
  if (n_services && o->HiddenServiceNonAnonymousMode)
    log_warn("HiddenServiceNonAnonymousMode is set: %s of this instance "
             "%s, NOT anonymous (%s location is visible to %s introduction "
             "and rendezvous points).",
             n_services == 1 ? "the onion service" : "the onion services",
             n_services == 1 ? "is a single onion service"
                             : "are single onion services",
             n_services == 1 ? "its" : "their",
             n_services == 1 ? "its" : "their");
  if (o->DirAuthority && !o->TestingTorNetwork)
    log_info("Using custom DirAuthority lines.");
  if (o->RunAsDaemon) {
    for (const config_line_t *ln = o->Log; ln; ln = ln->next)
      if (strstr(ln->value, "stdout") || strstr(ln->value, "stderr"))
        log_warn("RunAsDaemon 1 detaches from the terminal: Log %s will "
                 "go nowhere.", ln->value);
  }
  return 0;
}
