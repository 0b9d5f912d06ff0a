/* test_app_exit.c -- the exit role's wiring in src/app/main/app_exit.c:
 * the policy and descriptor lines built from the options at start, and a
 * SIGHUP (app_exit_check_reload() then app_exit_reconfigure()): a bad
 * ExitPolicy line or a resolver that cannot start keeps everything,
 * a good one changes the descriptor lines only when applied, ExitRelay 0
 * leaves "reject *:*", a relay that was no exit becomes one; which
 * ServerDNS* changes need a new resolver. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allium/app/config/options.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"
#include "app/main/app_exit.h"

static char DIR_[64];
static char CONF[160];
static relay_keys_t *KEYS;
static relay_run_t *RR;

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(evloop_init(), 0);
  snprintf(DIR_, sizeof(DIR_), "/tmp/allium-appexit.XXXXXX");
  cr_assert_not_null(mkdtemp(DIR_));
  cr_assert_eq(relay_keys_load_or_create(DIR_, 1, &KEYS), 0);
  /* a resolver that never leaves the machine (nothing listens there) */
  snprintf(CONF, sizeof(CONF), "%s/resolv.conf", DIR_);
  FILE *f = fopen(CONF, "w");
  cr_assert_not_null(f);
  fputs("nameserver 127.0.0.1:9\n", f);
  fclose(f);
  config_line_t orport = { 0 };
  orport.key = (char *)"ORPort";
  orport.value = (char *)"127.0.0.1:auto";
  relay_run_config_t cfg = { .orport = &orport, .nickname = "appexit",
                             .assume_reachable = true, .keys = KEYS };
  char *err = NULL;
  RR = relay_run_new(evloop_base(), &cfg, &err);
  cr_assert_not_null(RR, "relay_run_new: %s", err ? err : "");
}

static void
teardown(void)
{
  char cmd[128];
  relay_run_free(RR);
  app_exit_shutdown();
  relay_keys_free(KEYS);
  evloop_shutdown();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", DIR_);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(app_exit, .init = setup, .fini = teardown, .timeout = 30);

/* Options from torrc text, the resolver pointed at CONF. */
static allium_options_t *
load(const char *text)
{
  char *full = al_asprintf("ServerDNSResolvConfFile %s\n"
                           "ServerDNSDetectHijacking 0\n%s", CONF, text);
  allium_options_t *o = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(full, &o, &err), 0, "%s: %s", full,
               err ? err : "");
  al_free(full);
  return o;
}

/* The descriptor's policy lines, joined with ';'. */
static char *
desc_policy(void)
{
  relay_publish_cfg_t pc;
  memset(&pc, 0, sizeof(pc));
  app_exit_publish_cfg(&pc);
  static char buf[512];
  buf[0] = '\0';
  for (size_t i = 0; i < pc.n_exit_policy; i++) {
    strncat(buf, pc.exit_policy[i], sizeof(buf) - strlen(buf) - 2);
    strcat(buf, ";");
  }
  return buf;
}

Test(app_exit, reload_applies_a_new_policy_only_when_valid)
{
  allium_options_t *o = load("ExitRelay 1\nExitPolicyRejectPrivate 0\n"
                             "ExitPolicy accept *:80\nExitPolicy reject *:*\n");
  cr_assert_eq(app_exit_init(RR, o), 0);
  cr_assert_not_null(relay_run_exit(RR));
  cr_assert_str_eq(desc_policy(), "accept *:80;reject *:*;");

  /* Option validation refuses such a line already; the reload's own check
   * must hold on its own too: make the bad line by hand. */
  allium_options_t *bad = load("ExitRelay 1\nExitPolicy accept *:99\n");
  al_free(bad->ExitPolicy->value);
  bad->ExitPolicy->value = al_strdup("accept *:99999");
  cr_assert_eq(app_exit_check_reload(RR, o, bad), -1);
  app_exit_reconfigure(RR);   /* nothing pending: a no-op */
  cr_assert_str_eq(desc_policy(), "accept *:80;reject *:*;");

  allium_options_t *o2 = load("ExitRelay 1\nExitPolicyRejectPrivate 0\n"
                              "ExitPolicy reject *:80,accept *:443\n"
                              "ExitPolicy reject *:*\n");
  cr_assert_eq(app_exit_check_reload(RR, o, o2), 0);
  cr_assert_str_eq(desc_policy(), "accept *:80;reject *:*;",
                   "changed before the reload was applied");
  app_exit_reconfigure(RR);
  cr_assert_str_eq(desc_policy(), "reject *:80;accept *:443;reject *:*;");

  allium_options_t *off = load("ExitRelay 0\n");
  cr_assert_eq(app_exit_check_reload(RR, o2, off), 0);
  app_exit_reconfigure(RR);
  cr_assert_str_eq(desc_policy(), "reject *:*;");
  cr_assert_not_null(relay_run_exit(RR), "the exit stays, refusing");
  options_free(o);
  options_free(bad);
  options_free(o2);
  options_free(off);
}

Test(app_exit, non_exit_becomes_an_exit_on_reload)
{
  allium_options_t *o = load("ExitRelay 0\n");
  cr_assert_eq(app_exit_init(RR, o), 0);
  cr_assert_null(relay_run_exit(RR));
  cr_assert_str_eq(desc_policy(), "reject *:*;");
  allium_options_t *on = load("ExitRelay 1\nExitPolicyRejectPrivate 0\n"
                              "ExitPolicy accept *:443\nExitPolicy reject *:*\n");
  cr_assert_eq(app_exit_check_reload(RR, o, on), 0);
  app_exit_reconfigure(RR);
  cr_assert_not_null(relay_run_exit(RR));
  cr_assert_str_eq(desc_policy(), "accept *:443;reject *:*;");
  options_free(o);
  options_free(on);
}

Test(app_exit, resolver_that_cannot_start_rejects_the_reload)
{
  allium_options_t *o = load("ExitRelay 1\nExitPolicyRejectPrivate 0\n"
                             "ExitPolicy accept *:80\nExitPolicy reject *:*\n");
  cr_assert_eq(app_exit_init(RR, o), 0);
  char *text = al_asprintf("ExitRelay 1\nExitPolicy accept *:81\n"
                           "ExitPolicy reject *:*\n"
                           "ServerDNSResolvConfFile %s/missing.conf\n", DIR_);
  allium_options_t *o2 = NULL;
  char *err = NULL;
  cr_assert_eq(options_load_from_string(text, &o2, &err), 0);
  cr_assert(app_exit_dns_options_changed(o, o2));
  cr_assert_eq(app_exit_check_reload(RR, o, o2), -1);
  app_exit_reconfigure(RR);
  cr_assert_str_eq(desc_policy(), "accept *:80;reject *:*;");
  al_free(text);
  options_free(o);
  options_free(o2);
}

Test(app_exit, which_options_need_a_new_resolver)
{
  allium_options_t *a = load("");
  const char *changes[] = {
    "ServerDNSSearchDomains 1\n", "ServerDNSAllowNonRFC953Hostnames 1\n",
    "ServerDNSRandomizeCase 0\n", "ServerDNSTestAddresses a.test,b.test\n",
    "ServerDNSDetectHijacking 1\n",
  };
  for (size_t i = 0; i < sizeof(changes) / sizeof(*changes); i++) {
    allium_options_t *b = load(changes[i]);
    cr_assert(app_exit_dns_options_changed(a, b), "%s", changes[i]);
    cr_assert(app_exit_dns_options_changed(b, a), "%s", changes[i]);
    options_free(b);
  }
  allium_options_t *same = load("ExitPolicy accept *:1\nNickname other\n");
  cr_assert(!app_exit_dns_options_changed(a, same));
  allium_options_t *t1 = load("ServerDNSTestAddresses a.test,b.test\n");
  allium_options_t *t2 = load("ServerDNSTestAddresses a.test,c.test\n");
  allium_options_t *t3 = load("ServerDNSTestAddresses a.test\n");
  cr_assert(app_exit_dns_options_changed(t1, t2));
  cr_assert(app_exit_dns_options_changed(t1, t3));
  cr_assert(!app_exit_dns_options_changed(t1, t1));
  options_free(a);
  options_free(same);
  options_free(t1);
  options_free(t2);
  options_free(t3);
}
