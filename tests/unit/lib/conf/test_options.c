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
        i + 1 < n && sample[i + 1] >= 'A' && sample[i + 1] <= 'Z' &&
        strncmp(sample + i + 1, "AlternateDirAuthority ", 22))
      continue;
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
      "expected 3" },
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
