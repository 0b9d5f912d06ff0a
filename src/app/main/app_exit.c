/* app_exit.c -- the exit role's wiring (tor(1) ExitRelay, ExitPolicy,
 * ExitPolicyRejectPrivate, ExitPolicyRejectLocalInterfaces,
 * ReducedExitPolicy, IPv6Exit): the effective policy
 * (feature/exit/exit_policy.h), exit streams on the relay runtime
 * (feature/exit/exit_stream.h) and the policy the descriptor carries
 * (dir-spec 2.1.1). */
#define LOG_MODULE "exit"
#include "app_exit.h"

#include "allium/app/config/options_exit_dns.h"
#include "allium/app/main/exitcodes.h"
#include "allium/feature/exit/exit_dns.h"
#include "allium/feature/exit/exit_policy.h"
#include "allium/feature/exit/exit_stream.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

static exit_dns_t *DNS;
static policy_t *POLICY;
static char **LINES;
static size_t N_LINES;
static char *V6_SUMMARY;

static int
build_policy(relay_run_t *rr, const allium_options_t *o)
{
  policy_addr_t own[2];
  policy_addr_t *ifs = NULL;
  size_t n_if = 0;
  if (o->ExitPolicyRejectLocalInterfaces &&
      exit_policy_local_addrs(&ifs, &n_if) < 0) {
    /* Fail closed: an address we were told to refuse might be allowed. */
    log_err("ExitPolicyRejectLocalInterfaces: cannot list the local "
            "interface addresses.");
    return ALLIUM_EXIT_CONFIG;
  }
  exit_policy_cfg_t pc = {
    .exit_relay = o->ExitRelay,
    .policy = o->ExitPolicy,
    .reject_private = o->ExitPolicyRejectPrivate != 0,
    .reject_local_interfaces = o->ExitPolicyRejectLocalInterfaces != 0,
    .reduced = o->ReducedExitPolicy != 0,
    .ipv6_exit = o->IPv6Exit != 0,
    .own_addrs = own,
    .n_own = relay_run_own_addrs(rr, own),
    .if_addrs = ifs,
    .n_if = n_if,
  };
  char *err = NULL;
  int r = exit_policy_build(&pc, &POLICY, &err);
  al_free(ifs);
  if (r < 0) {
    log_err("%s.", err ? err : "ExitPolicy: cannot build the exit policy");
    al_free(err);
    return ALLIUM_EXIT_CONFIG;
  }
  return 0;
}

/* The exit's resolver is exit_dns (feature/exit/exit_dns.h). */
static exit_dns_req_t *
dns_resolve(void *ctx, const char *name, unsigned want, exit_dns_cb_t cb,
            void *arg)
{
  return exit_dns_resolve(ctx, name, want, cb, arg);
}

static exit_dns_req_t *
dns_resolve_ptr(void *ctx, const exit_dns_addr_t *a, exit_dns_cb_t cb,
                void *arg)
{
  return exit_dns_resolve_ptr(ctx, a, cb, arg);
}

static void
dns_cancel(void *ctx, exit_dns_req_t *req)
{
  (void)ctx;
  exit_dns_cancel(req);
}

/* ServerDNS*: the resolver, or an exit status (fail closed: an exit that
 * cannot resolve must not serve as one). */
static int
start_resolver(const allium_options_t *o)
{
  exit_dns_config_t dc;
  const char *err = NULL;
  options_exit_dns_config(o, &dc);
  DNS = exit_dns_new(evloop_base(), &dc, &err);
  if (!DNS) {
    log_err("ServerDNS*: %s.", err ? err : "cannot start the resolver");
    return ALLIUM_EXIT_CONFIG;
  }
  return 0;
}

int
app_exit_init(relay_run_t *rr, const allium_options_t *o)
{
  int r = build_policy(rr, o);
  if (r)
    return r;
  (void)exit_policy_desc_lines(POLICY, &LINES, &N_LINES);
  V6_SUMMARY = exit_policy_ipv6_summary(POLICY);
  if (!exit_policy_is_exit(POLICY)) {
    if (o->ExitRelay == 1 || o->ExitPolicy)
      log_notice("The exit policy accepts nothing: this relay is not an "
                 "exit (as with ExitRelay 0).");
    return 0;
  }
  r = start_resolver(o);
  if (r)
    return r;
  exit_resolver_t res = { dns_resolve, dns_resolve_ptr, dns_cancel, DNS };
  if (relay_run_enable_exit(rr, POLICY, o->IPv6Exit != 0, &res) < 0) {
    log_err("Couldn't start the exit streams.");
    return ALLIUM_EXIT_CONFIG;
  }
  log_notice("This relay is an exit: %zu exit policy rules%s%s.", POLICY->n,
             V6_SUMMARY ? ", IPv6 " : "", V6_SUMMARY ? V6_SUMMARY : "");
  return 0;
}

void
app_exit_publish_cfg(relay_publish_cfg_t *pc)
{
  pc->exit_policy = (const char *const *)LINES;
  pc->n_exit_policy = N_LINES;
  pc->ipv6_policy = V6_SUMMARY;
}

void
app_exit_shutdown(void)
{
  exit_policy_lines_free(LINES, N_LINES);
  LINES = NULL;
  N_LINES = 0;
  al_free(V6_SUMMARY);
  V6_SUMMARY = NULL;
  policy_free(POLICY);
  exit_dns_free(DNS);   /* after the relay runtime: no request is left */
}
