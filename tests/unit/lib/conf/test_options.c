/* test_options.c -- allium's option table (src/app/config): loading from
 * text and files, the command line, tor's unimplemented options, the
 * sample configuration documenting every option, validation. */
#include <criterion/criterion.h>

#include "allium/app/config/options.h"
#include "allium/lib/conf/confdecl.h"
#include "allium/lib/malloc/malloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char *
read_sample(void)
{
  const char *src = getenv("ALLIUM_SRCDIR");
  char path[4096];
  snprintf(path, sizeof(path), "%s/config/allium.conf.sample",
           src ? src : ALLIUM_SRCDIR);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "cannot open %s", path);
  char *buf = al_malloc(1024 * 1024);
  size_t n = fread(buf, 1, 1024 * 1024 - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Every option of the table appears as "#Name " in the sample, with its
 * default mentioned; every "#Name" there is an option. */
Test(options, sample_documents_every_option)
{
  char *sample = read_sample();
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  options_print_list(f);
  fclose(f);
  int n = 0;
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    char name[64], pat[80];
    cr_assert_eq(sscanf(line, "%63s", name), 1);
    snprintf(pat, sizeof(pat), "\n#%s ", name);
    cr_assert(strstr(sample, pat), "option %s missing from "
              "config/allium.conf.sample", name);
    n++;
  }
  cr_assert_gt(n, 80);
  free(buf);
  /* and the reverse: no stale names in the sample */
  for (char *p = strstr(sample, "\n#"); p; p = strstr(p + 1, "\n#")) {
    if (p[2] == '#' || p[2] == ' ' || p[2] == '\n')
      continue;
    char name[64];
    cr_assert_eq(sscanf(p + 2, "%63[A-Za-z0-9_]", name), 1);
    allium_options_t *o = NULL;
    char *err = NULL, text[128];
    snprintf(text, sizeof(text), "%s\n", name);
    cr_assert_eq(options_load_from_string(text, &o, &err), 0,
                 "sample names unknown option %s: %s", name, err);
    options_free(o);
  }
  al_free(sample);
}

/* The sample with every option uncommented loads (but AlternateDirAuthority,
 * which cannot be set together with DirAuthority, as in tor). */
Test(options, sample_uncommented_loads)
{
  char *sample = read_sample();
  size_t n = strlen(sample);
  char *text = al_malloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (sample[i] == '#' && (i == 0 || sample[i - 1] == '\n') &&
        i + 1 < n && sample[i + 1] >= 'A' && sample[i + 1] <= 'Z') {
      char name[64];
      cr_assert_eq(sscanf(sample + i + 1, "%63[A-Za-z0-9_]", name), 1);
      if (options_kind(name) != OPTIONS_KIND_REFUSED &&
          strcmp(name, "AlternateDirAuthority") &&
          strncmp(name, "HiddenService", 13))
        continue;   /* refused options stay commented: they would fail; so
                       do onion services until they run */
    }
    text[o++] = sample[i];
  }
  text[o] = '\0';
  allium_options_t *opts = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(text, &opts, &err), 0, "%s", err);
  cr_assert_str_eq(opts->Nickname, "MyAlliumRelay");
  options_free(opts);
  al_free(text);
  al_free(sample);
}

Test(options, defaults_match_tor)
{
  allium_options_t *o = options_new_default();
  cr_assert_eq(o->SafeLogging, SAFELOG_ON);
  cr_assert_eq(o->UseMicrodescriptors, OPT_AUTO);
  cr_assert_eq(o->ShutdownWaitLength, 30);
  cr_assert_eq(o->KeepalivePeriod, 300);
  cr_assert_eq(o->ConnLimit, 1000);
  cr_assert_eq(o->ExitPolicyRejectPrivate, 1);
  cr_assert_eq(o->EnforceDistinctSubnets, 1);
  cr_assert_eq(o->CircuitBuildTimeout, 60);
  cr_assert_eq(o->BandwidthRate, 1073741824ULL);
  cr_assert_str_eq(o->SocksPort->value, "9050");
  cr_assert_null(o->ORPort);
  cr_assert_null(o->DataDirectory);
  char *d = options_dump(o);
  cr_assert_str_eq(d, "");
  al_free(d);
  d = options_dump_full(o);
  cr_assert(strstr(d, "SocksPort 9050\n"));
  cr_assert(strstr(d, "KeepalivePeriod 5 minutes\n"));
  al_free(d);
  options_free(o);
  cr_assert_null(o);
  options_free(o);
}

Test(options, known_tor_table)
{
  cr_assert_gt(options_tor_known_count, 300);
  cr_assert_null(options_tor_known[options_tor_known_count]);
  int found = 0;
  for (size_t i = 0; i < options_tor_known_count; i++)
    if (!strcmp(options_tor_known[i], "ServerDNSDetectHijacking"))
      found = 1;
  cr_assert(found);
}

Test(options, validation_errors)
{
  struct { const char *in, *want; } bad[] = {
    { "Sandbox 1", "Option 'Sandbox': \"1\" is not supported" },
    { "Nickname abcdefghijklmnopqrst", "is not a nickname" },
    { "ORPort 9001", "DataDirectory' is required for a relay" },
    { "BandwidthRate 2 GB\n", "BandwidthBurst' must be at least" },
    { "Log notice elsewhere", "Option 'Log': unrecognized destination or severity \"elsewhere\"" },
    { "Log bogus stderr", "Option 'Log': bad severity \"bogus\"" },
    { "Log notice file", "Option 'Log': \"file\" needs a file name" },
    { "ExitPolicy allow *:80", "\"allow *:80\" is not a policy entry" },
    { "ExitPolicy accept *:80, reject", "\"reject\" is not a policy entry" },
    { "HiddenServiceDir /x\n", "has no HiddenServicePort" },
    { "HiddenServiceDir /x\nHiddenServicePort 80\nHiddenServiceVersion 2",
      "version 2 are obsolete" },
    { "HiddenServiceSingleHopMode 1", "must be used with "
      "HiddenServiceNonAnonymousMode" },
    { "TestingTorNetwork 1", "needs DirAuthority" },
    { "SafeLogging 2", "expected one of: 0, 1, relay" },
    { "UseMicrodescriptors sometimes", "0, 1 or \"auto\"" },
    { "SocksPort 99999", "<string>:1: Option 'SocksPort': \"99999\" is not a "
      "port (expected 0-65535 or \"auto\")" },
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    allium_options_t *o = NULL;
    char *err = NULL;
    cr_assert_eq(options_load_from_string(bad[i].in, &o, &err), -1,
                 "accepted %s", bad[i].in);
    cr_assert_null(o);
    cr_assert(strstr(err, bad[i].want), "%s: got %s", bad[i].in, err);
    al_free(err);
  }
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string("Log [handshake]debug [*]notice-err "
                                        "syslog\nLog warn-err file /x y\n"
                                        "SafeLogging relay\n", &o, &err), 0,
               "%s", err);
  cr_assert_eq(o->SafeLogging, SAFELOG_RELAY);
  options_free(o);
}

static char tmp[128];

static void
mk(void)
{
  snprintf(tmp, sizeof(tmp), "/tmp/allium-options-XXXXXX");
  cr_assert_not_null(mkdtemp(tmp));
}

static void
rm(void)
{
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  cr_assert_eq(system(cmd), 0);
}

static void
put(const char *name, const char *text)
{
  char p[256];
  snprintf(p, sizeof(p), "%s/%s", tmp, name);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

Test(options, load_precedence, .init = mk, .fini = rm)
{
  char torrc[256], defs[256];
  snprintf(torrc, sizeof(torrc), "%s/torrc", tmp);
  snprintf(defs, sizeof(defs), "%s/defaults", tmp);
  put("defaults", "Nickname FromDefaults\nSocksPort 1111\nLog info stderr\n"
      "ContactInfo defaults\n");
  put("torrc", "Nickname FromTorrc\nSocksPort 2222\nSocksPort 3333\n"
      "ServerDNSDetectHijacking 0\n");
  char *argv[] = { "allium", "-f", torrc, "--defaults-torrc", defs,
                   "--SocksPort", "4444", "--Nickname", "FromCmdline",
                   "--verify-config", "--dump-config", "full", NULL };
  allium_options_t *o = NULL;
  char *err = NULL;
  cmdline_flags_t fl;
  cr_assert_eq(options_load(12, argv, &o, &err, &fl), 0, "%s", err);
  cr_assert_str_eq(o->Nickname, "FromCmdline");
  cr_assert_str_eq(o->ContactInfo, "defaults");
  cr_assert_eq(confline_count(o->SocksPort), 1);
  cr_assert_str_eq(o->SocksPort->value, "4444");
  cr_assert_str_eq(o->Log->value, "info stderr");
  cr_assert_eq(fl.verify_config, 1);
  cr_assert_eq(fl.dump_config, 1);
  cr_assert_str_eq(fl.dump_config_mode, "full");
  cr_assert_eq(fl.torrc_file, argv[2]);
  cr_assert_eq(fl.defaults_file, argv[4]);
  options_free(o);
  /* the torrc's list replaces the defaults file's; +Option appends */
  char *argv2[] = { "allium", "-f", torrc, "--defaults-torrc", defs,
                    "+SocksPort", "5555", NULL };
  cr_assert_eq(options_load(7, argv2, &o, &err, NULL), 0, "%s", err);
  cr_assert_eq(confline_count(o->SocksPort), 3);
  cr_assert_str_eq(o->SocksPort->value, "2222");
  cr_assert_str_eq(o->SocksPort->next->next->value, "5555");
  options_free(o);
}

Test(options, load_missing_and_errors, .init = mk, .fini = rm)
{
  char torrc[256];
  snprintf(torrc, sizeof(torrc), "%s/absent", tmp);
  allium_options_t *o = NULL;
  char *err = NULL;
  char *a1[] = { "allium", "-f", torrc, "--defaults-torrc", torrc, NULL };
  cr_assert_eq(options_load(5, a1, &o, &err, NULL), -1);
  cr_assert(strstr(err, "absent"), "%s", err);
  al_free(err);
  char *a2[] = { "allium", "-f", torrc, "--defaults-torrc", torrc,
                 "--ignore-missing-torrc", NULL };
  cr_assert_eq(options_load(6, a2, &o, &err, NULL), 0, "%s", err);
  cr_assert_not_null(o);
  options_free(o);
  cmdline_flags_t fl;
  char *a3[] = { "allium", "--version", "--hush", NULL };
  cr_assert_eq(options_load(3, a3, &o, &err, &fl), 0);
  cr_assert_null(o);
  cr_assert(fl.version);
  cr_assert_eq(fl.quiet, 1);
  char *a4[] = { "allium", "-f", torrc, "--ignore-missing-torrc",
                 "--SocksPort", NULL };
  cr_assert_eq(options_load(5, a4, &o, &err, NULL), -1);
  cr_assert(strstr(err, "no value"), "%s", err);
  al_free(err);
  char *a5[] = { "allium", "-f", torrc, "--ignore-missing-torrc",
                 "--SocksPrt", "1", NULL };
  cr_assert_eq(options_load(6, a5, &o, &err, NULL), -1);
  cr_assert(strstr(err, "command line:4: Unknown option 'SocksPrt'. Did you "
                   "mean 'SocksPort'?"), "%s", err);
  al_free(err);
}

/* tor(1): TestingTorNetwork changes the defaults of several options; an
 * explicit value still wins, and without it nothing changes. */
Test(options, testing_tor_network_defaults)
{
  allium_options_t *o = NULL;
  char *err = NULL;
  const char *auth = "DirAuthority a orport=1 v3ident="
    "0000000000000000000000000000000000000000 127.0.0.1:2 "
    "0000000000000000000000000000000000000000\n";
  char *text = al_asprintf("TestingTorNetwork 1\n%s", auth);
  cr_assert_eq(options_load_from_string(text, &o, &err), 0, "%s", err ? err : "");
  cr_expect_eq(o->EnforceDistinctSubnets, 0);
  cr_expect_eq(o->AssumeReachable, 1);
  cr_expect_eq(o->ExitPolicyRejectPrivate, 0);
  options_free(o);
  al_free(text);
  text = al_asprintf("EnforceDistinctSubnets 1\nTestingTorNetwork 1\n%s", auth);
  cr_assert_eq(options_load_from_string(text, &o, &err), 0, "%s", err ? err : "");
  cr_expect_eq(o->EnforceDistinctSubnets, 1);
  options_free(o);
  al_free(text);
  cr_assert_eq(options_load_from_string("SocksPort 9050\n", &o, &err), 0);
  cr_expect_eq(o->EnforceDistinctSubnets, 1);
  cr_expect_eq(o->AssumeReachable, 0);
  options_free(o);
}

/* A malformed DirAuthority line fails validation (so --verify-config
 * reports it) with the option's name. */
Test(options, bad_dir_authority_rejected)
{
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(
      "DirAuthority a orport=1 127.0.0.1:2 NOTHEX\n", &o, &err), -1);
  cr_assert_null(o);
  cr_assert_not_null(err);
  cr_expect_not_null(strstr(err, "DirAuthority"), "%s", err);
  al_free(err);
}

/* The three kinds of tor option names. */
Test(options, option_kinds)
{
  cr_assert_eq(options_kind("Nickname"), OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("socksport"), OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("MaxConn"), OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("ServerDNSAllowBrokenConfig"),
               OPTIONS_KIND_HARMLESS);
  cr_assert_eq(options_kind("ServerDNSDetectHijacking"),
               OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("HSLayer2Nodes"), OPTIONS_KIND_HARMLESS);
  cr_assert_eq(options_kind("FirewallPorts"), OPTIONS_KIND_HARMLESS);
  cr_assert_eq(options_kind("UseBridges"), OPTIONS_KIND_REFUSED);
  cr_assert_eq(options_kind("usebridges"), OPTIONS_KIND_REFUSED);
  cr_assert_eq(options_kind("ClientOnly"), OPTIONS_KIND_REFUSED);
  cr_assert_eq(options_kind("HiddenServicePort"), OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("HiddenServiceExportCircuitID"), OPTIONS_KIND_REFUSED);
  /* implemented: the controller attaches streams (ATTACHSTREAM), and
   * MapAddress rewrites destinations */
  cr_assert_eq(options_kind("__LeaveStreamsUnattached"),
               OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("MapAddress"), OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("MetricsPort"), OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("MetricsPortPolicy"), OPTIONS_KIND_IMPLEMENTED);
  cr_assert_eq(options_kind("NoSuchOption"), OPTIONS_KIND_UNKNOWN);
  cr_assert_eq(options_kind(""), OPTIONS_KIND_UNKNOWN);
  /* every tor name is of a known kind */
  for (size_t i = 0; i < options_tor_known_count; i++)
    cr_assert_neq(options_kind(options_tor_known[i]), OPTIONS_KIND_UNKNOWN,
                  "%s", options_tor_known[i]);
}

/* Each security-relevant option, set to a non-default value, is refused
 * with its name and "not supported yet". */
Test(options, refused_each)
{
  static const struct { const char *name, *line; } cases[] = {
    { "UseBridges", "UseBridges 1" },
    { "Bridge", "Bridge 192.0.2.1:443" },
    { "ClientTransportPlugin", "ClientTransportPlugin obfs4 exec /bin/x" },
    { "Socks4Proxy", "Socks4Proxy 127.0.0.1:1080" },
    { "Socks5Proxy", "Socks5Proxy 127.0.0.1:1080" },
    { "Socks5ProxyUsername", "Socks5ProxyUsername u" },
    { "Socks5ProxyPassword", "Socks5ProxyPassword p" },
    { "HTTPSProxy", "HTTPSProxy 127.0.0.1:3128" },
    { "HTTPSProxyAuthenticator", "HTTPSProxyAuthenticator u:p" },
    { "HTTPProxy", "HTTPProxy 127.0.0.1:3128" },
    { "HTTPProxyAuthenticator", "HTTPProxyAuthenticator u:p" },
    { "TCPProxy", "TCPProxy haproxy 127.0.0.1:1" },
    { "ReachableAddresses", "ReachableAddresses accept *:443" },
    { "ReachableORAddresses", "ReachableORAddresses accept *:443" },
    { "ReachableDirAddresses", "ReachableDirAddresses accept *:80" },
    { "FascistFirewall", "FascistFirewall 1" },
    { "ClientOnly", "ClientOnly 1" },
    { "OutboundBindAddress", "OutboundBindAddress 10.0.0.1" },
    { "OutboundBindAddressOR", "OutboundBindAddressOR 10.0.0.1" },
    { "OutboundBindAddressExit", "OutboundBindAddressExit 10.0.0.1" },
    { "MiddleNodes", "MiddleNodes $0123456789ABCDEF0123456789ABCDEF01234567" },
    { "NodeFamily", "NodeFamily a,b" },
    { "RejectPlaintextPorts", "RejectPlaintextPorts 23" },
    { "DisableAllSwap", "DisableAllSwap 1" },
    { "HiddenServicePoWDefensesEnabled", "HiddenServiceDir /x\n"
      "HiddenServicePort 80\nHiddenServicePoWDefensesEnabled 1" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    allium_options_t *o = NULL;
    char *err = NULL;
    cr_assert_eq(options_load_from_string(cases[i].line, &o, &err), -1,
                 "accepted %s", cases[i].line);
    cr_assert_null(o);
    cr_assert(strstr(err, cases[i].name), "%s: %s", cases[i].line, err);
    cr_assert(strstr(err, "not supported yet"), "%s: %s", cases[i].line, err);
    cr_assert_eq(options_kind(cases[i].name), OPTIONS_KIND_REFUSED);
    al_free(err);
  }
}

/* Every refused option set is named in the one error; sensitive values
 * are not echoed. */
Test(options, refused_all_named)
{
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(
      "UseBridges 1\nBridge 192.0.2.1:443\nSocks5Proxy 127.0.0.1:1\n"
      "Socks5ProxyPassword hunter2\nHiddenServiceDir /x\n"
      "HiddenServicePort 80\nHiddenServiceExportCircuitID haproxy\n"
      "ControlPort 9051\n", &o, &err), -1);
  cr_assert_str_eq(err, "Options HiddenServiceExportCircuitID, "
                   "UseBridges, Bridge, Socks5Proxy, Socks5ProxyPassword are "
                   "not supported yet: allium refuses to start rather than "
                   "ignore them, which could send traffic where you asked it "
                   "not to go. Remove them or set them to their defaults.");
  al_free(err);
}

/* Defaults, explicitly written, are fine; so is a later line that puts an
 * option back to its default. */
Test(options, refused_default_values_accepted)
{
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(
      "UseBridges 0\nFascistFirewall 0\nClientOnly 0\nDisableAllSwap 0\n"
      "HiddenServiceSingleHopMode 0\nHiddenServiceNonAnonymousMode 0\n"
      "__LeaveStreamsUnattached 0\nUseBridges 1\nUseBridges 0\n"
      "Bridge 192.0.2.1:443\n/Bridge\n", &o, &err), 0, "%s", err);
  char *d = options_dump(o);
  cr_assert_str_eq(d, "");
  al_free(d);
  options_free(o);
}

/* Once refused, now implemented (the client's control commands): the
 * values load and reach the options. */
Test(options, stream_control_options_accepted)
{
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(
      "__LeaveStreamsUnattached 1\nMapAddress a.example b.example\n"
      "MapAddress 10.0.0.1 c.example\n", &o, &err), 0, "%s", err);
  cr_assert_eq(o->LeaveStreamsUnattached, 1);
  cr_assert_not_null(o->MapAddress);
  cr_assert_str_eq(o->MapAddress->value, "a.example b.example");
  cr_assert_not_null(o->MapAddress->next);
  cr_assert_str_eq(o->MapAddress->next->value, "10.0.0.1 c.example");
  options_free(o);
}

/* A MapAddress the address map cannot hold is an error, never skipped
 * (the stream would go to the unmapped address). */
Test(options, map_address_wildcards_refused)
{
  static const char *const bad[] = {
    "MapAddress *.example.com *.example.com.exit\n",
    "MapAddress a.example\n",
    "MapAddress a.example b.example c.example\n",
    "MapAddress a.example b..example\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    allium_options_t *o = NULL;
    char *err = NULL;
    cr_assert_eq(options_load_from_string(bad[i], &o, &err), -1, "%s",
                 bad[i]);
    cr_assert_not_null(strstr(err, "MapAddress"), "%s", err);
    cr_assert_not_null(strstr(err, "wildcards are not supported"), "%s", err);
    al_free(err);
  }
}

/* Precedence: the torrc may undo the defaults file, the command line the
 * torrc; what counts is the final value. */
Test(options, refused_after_precedence, .init = mk, .fini = rm)
{
  char torrc[256], defs[256];
  snprintf(torrc, sizeof(torrc), "%s/torrc", tmp);
  snprintf(defs, sizeof(defs), "%s/defaults", tmp);
  put("defaults", "UseBridges 1\nBridge 192.0.2.1:443\n");
  put("torrc", "UseBridges 0\nBridge\nFascistFirewall 1\n");
  char *a1[] = { "allium", "-f", torrc, "--defaults-torrc", defs,
                 "--FascistFirewall", "0", NULL };
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load(7, a1, &o, &err, NULL), 0, "%s", err);
  options_free(o);
  char *a2[] = { "allium", "-f", torrc, "--defaults-torrc", defs,
                 "--verify-config", NULL };
  cr_assert_eq(options_load(6, a2, &o, &err, NULL), -1);
  cr_assert(strstr(err, "Option FascistFirewall is not supported yet"),
            "%s", err);
  al_free(err);
}

/* Country codes would match nothing (no GeoIP): refused in node lists. */
Test(options, node_list_country_codes_refused)
{
  const char *lists[] = { "EntryNodes", "ExitNodes", "ExcludeNodes",
                          "ExcludeExitNodes" };
  for (size_t i = 0; i < 4; i++) {
    allium_options_t *o = NULL;
    char *err = NULL;
    char *text = al_asprintf("%s SomeRelay,{ru}\n", lists[i]);
    cr_assert_eq(options_load_from_string(text, &o, &err), -1, "%s", text);
    cr_assert(strstr(err, lists[i]) && strstr(err, "country codes"), "%s",
              err);
    al_free(err);
    al_free(text);
  }
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string("ExcludeNodes SomeRelay,$0123456789"
                                        "ABCDEF0123456789ABCDEF01234567\n",
                                        &o, &err), 0, "%s", err);
  options_free(o);
}

/* SIGHUP: options that need a restart keep their running values. */
Test(options, keep_values_for_restart)
{
  allium_options_t *oldo = NULL, *newo = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(
      "DataDirectory /a\nUseMicrodescriptors 0\nSocksPort 1\n"
      "DirAuthority a orport=1 v3ident=0000000000000000000000000000000000000000"
      " 127.0.0.1:2 0000000000000000000000000000000000000000\n",
      &oldo, &err), 0, "%s", err);
  cr_assert_eq(options_load_from_string(
      "DataDirectory /b\nSocksPort 2\nNickname x\n", &newo, &err), 0, "%s",
      err);
  static const char *const names[] = { "DataDirectory", "UseMicrodescriptors",
    "DirAuthority", "PidFile", "NotAnOption", "HSLayer2Nodes", NULL };
  cr_assert_eq(options_same_value(oldo, newo, "PidFile"), 1);
  cr_assert_eq(options_same_value(oldo, newo, "DataDirectory"), 0);
  cr_assert_eq(options_same_value(oldo, newo, "NotAnOption"), 1);
  char *kept = options_keep_values(newo, oldo, names);
  cr_assert_str_eq(kept, "DataDirectory, UseMicrodescriptors, DirAuthority");
  al_free(kept);
  cr_assert_str_eq(newo->DataDirectory, "/a");
  cr_assert_eq(newo->UseMicrodescriptors, 0);
  cr_assert_eq(confline_count(newo->DirAuthority), 1);
  /* the others are the new ones */
  cr_assert_str_eq(newo->SocksPort->value, "2");
  cr_assert_str_eq(newo->Nickname, "x");
  cr_assert_null(options_keep_values(newo, oldo, names));
  /* back to an unset value */
  allium_options_t *dflt = options_new_default();
  kept = options_keep_values(newo, dflt, names);
  cr_assert_not_null(kept);
  al_free(kept);
  cr_assert_null(newo->DataDirectory);
  cr_assert_eq(newo->UseMicrodescriptors, OPT_AUTO);
  cr_assert_null(newo->DirAuthority);
  options_free(dflt);
  options_free(oldo);
  options_free(newo);
}

/* A valid onion service block loads (services run since issue 11); the
 * single-onion pair still needs SocksPort 0. */
Test(options, onion_service_accepted)
{
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string("HiddenServiceDir /x\n"
                                        "HiddenServicePort 80\n", &o, &err),
               0, "%s", err ? err : "");
  cr_assert_not_null(o);
  cr_assert_not_null(o->HiddenServiceOptions);
  options_free(o);
}

/* MetricsPort values are checked when the configuration loads (tor(1)
 * "[address:]port [format]"); MetricsPortPolicy is an exit-policy list. */
Test(options, metrics_port_validated)
{
  static const char *const good[] = {
    "MetricsPort 9035\nMetricsPortPolicy accept 127.0.0.1\n",
    "MetricsPort 127.0.0.1:9035 prometheus\n",
    "MetricsPort [::1]:9035\nMetricsPort 127.0.0.2:auto\n",
    "MetricsPortPolicy accept 10.0.0.0/8, reject *\n",
  };
  static const char *const bad[] = {
    "MetricsPort 9035 json\n",
    "MetricsPort 127.0.0.1:0\n",
    "MetricsPort localhost:9035\n",
    "MetricsPortPolicy accept nowhere\n",
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    allium_options_t *o = NULL;
    char *err = NULL;
    cr_assert_eq(options_load_from_string(good[i], &o, &err), 0, "%s: %s",
                 good[i], err ? err : "");
    options_free(o);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    allium_options_t *o = NULL;
    char *err = NULL;
    cr_assert_neq(options_load_from_string(bad[i], &o, &err), 0, "%s",
                  bad[i]);
    cr_assert_not_null(err);
    cr_assert_not_null(strstr(err, "MetricsPort"), "%s", err);
    al_free(err);
    options_free(o);
  }
}
