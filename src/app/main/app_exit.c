/* app_exit.c -- the exit role's wiring (tor(1) ExitRelay, ExitPolicy,
 * ExitPolicyRejectPrivate, ExitPolicyRejectLocalInterfaces,
 * ReducedExitPolicy, IPv6Exit, ServerDNS*): the effective policy
 * (feature/exit/exit_policy.h), exit streams on the relay runtime
 * (feature/exit/exit_stream.h), the resolver (feature/exit/exit_dns.h) and
 * the policy the descriptor carries (dir-spec 2.1.1).
 *
 * SIGHUP (tor(1) SIGNALS): the new options are built into a pending policy
 * (and a new resolver when a ServerDNS* option changed) before anything
 * changes, so that a bad line keeps the whole old configuration; then the
 * exit takes the new policy for BEGINs from then on (streams already
 * connected keep going), lookups in flight on a replaced resolver are
 * answered with an error before it is freed, and the publisher republishes
 * when the descriptor's accept/reject or ipv6-policy lines changed. */
#define LOG_MODULE "exit"
#include "app_exit.h"

#include <string.h>

#include "allium/app/config/options_exit_dns.h"
#include "allium/app/main/exitcodes.h"
#include "allium/feature/exit/exit_dns.h"
#include "allium/feature/exit/exit_policy.h"
#include "allium/feature/exit/exit_stream.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"

/* An effective policy and what the descriptor says of it. */
typedef struct exit_built_t {
  policy_t *policy;
  char **lines;
  size_t n_lines;
  char *v6;
  bool ipv6_exit;
} exit_built_t;

static exit_dns_t *DNS;
static exit_built_t CUR;
/* A reload's new state, between app_exit_check_reload() and
 * app_exit_reconfigure(). */
static exit_built_t NEXT;
static exit_dns_t *NEXT_DNS;
static bool NEXT_READY, NEXT_DROP_DNS;

static void
built_clear(exit_built_t *b)
{
  exit_policy_lines_free(b->lines, b->n_lines);
  al_free(b->v6);
  policy_free(b->policy);
  memset(b, 0, sizeof(*b));
}

/* The policy of o into *out.  0, or -1 (logged: an error at start, a
 * warning on reload). */
static int
build_policy(relay_run_t *rr, const allium_options_t *o, exit_built_t *out,
             bool reload)
{
  policy_addr_t own[2];
  policy_addr_t *ifs = NULL;
  size_t n_if = 0;
  int sev = reload ? SEV_WARN : SEV_ERR;
  memset(out, 0, sizeof(*out));
  if (o->ExitPolicyRejectLocalInterfaces &&
      exit_policy_local_addrs(&ifs, &n_if) < 0) {
    /* Fail closed: an address we were told to refuse might be allowed. */
    log_msg_(sev, LOG_MODULE, "ExitPolicyRejectLocalInterfaces: cannot list the local "
           "interface addresses.");
    return -1;
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
  int r = exit_policy_build(&pc, &out->policy, &err);
  al_free(ifs);
  if (r < 0) {
    log_msg_(sev, LOG_MODULE, "%s.", err ? err : "ExitPolicy: cannot build the exit policy");
    al_free(err);
    return -1;
  }
  (void)exit_policy_desc_lines(out->policy, &out->lines, &out->n_lines);
  out->v6 = exit_policy_ipv6_summary(out->policy);
  out->ipv6_exit = o->IPv6Exit != 0;
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

/* ServerDNS*: a resolver, or NULL (logged; fail closed: an exit that
 * cannot resolve must not serve as one). */
static exit_dns_t *
start_resolver(const allium_options_t *o, bool reload)
{
  exit_dns_config_t dc;
  const char *err = NULL;
  options_exit_dns_config(o, &dc);
  exit_dns_t *dns = exit_dns_new(evloop_base(), &dc, &err);
  if (!dns)
    log_msg_(reload ? SEV_WARN : SEV_ERR, LOG_MODULE,
             "ServerDNS*: %s.",
           err ? err : "cannot start the resolver");
  return dns;
}

static void
log_exit(const char *how)
{
  log_notice("This relay is %san exit: %zu exit policy rules%s%s.", how,
             CUR.policy->n, CUR.v6 ? ", IPv6 " : "", CUR.v6 ? CUR.v6 : "");
}

int
app_exit_init(relay_run_t *rr, const allium_options_t *o)
{
  if (build_policy(rr, o, &CUR, false) < 0)
    return ALLIUM_EXIT_CONFIG;
  if (!exit_policy_is_exit(CUR.policy)) {
    if (o->ExitRelay == 1 || o->ExitPolicy)
      log_notice("The exit policy accepts nothing: this relay is not an "
                 "exit (as with ExitRelay 0).");
    return 0;
  }
  if (!(DNS = start_resolver(o, false)))
    return ALLIUM_EXIT_CONFIG;
  exit_resolver_t res = { dns_resolve, dns_resolve_ptr, dns_cancel, DNS };
  if (relay_run_enable_exit(rr, CUR.policy, CUR.ipv6_exit, &res) < 0) {
    log_err("Couldn't start the exit streams.");
    return ALLIUM_EXIT_CONFIG;
  }
  log_exit("");
  return 0;
}

void
app_exit_publish_cfg(relay_publish_cfg_t *pc)
{
  pc->exit_policy = (const char *const *)CUR.lines;
  pc->n_exit_policy = CUR.n_lines;
  pc->ipv6_policy = CUR.v6;
}

/* ---- SIGHUP ---- */

static bool
str_eq(const char *a, const char *b)
{
  return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool
strv_eq(char **a, char **b)
{
  if (!a || !b)
    return a == b;
  size_t i = 0;
  for (; a[i] && b[i]; i++)
    if (strcmp(a[i], b[i]))
      return false;
  return !a[i] && !b[i];
}

bool
app_exit_dns_options_changed(const allium_options_t *a,
                             const allium_options_t *b)
{
  return !str_eq(a->ServerDNSResolvConfFile, b->ServerDNSResolvConfFile) ||
         a->ServerDNSSearchDomains != b->ServerDNSSearchDomains ||
         a->ServerDNSDetectHijacking != b->ServerDNSDetectHijacking ||
         !strv_eq(a->ServerDNSTestAddresses, b->ServerDNSTestAddresses) ||
         a->ServerDNSAllowNonRFC953Hostnames !=
             b->ServerDNSAllowNonRFC953Hostnames ||
         a->ServerDNSRandomizeCase != b->ServerDNSRandomizeCase;
}

void
app_exit_abort_reload(void)
{
  built_clear(&NEXT);
  exit_dns_free(NEXT_DNS);
  NEXT_READY = NEXT_DROP_DNS = false;
}

int
app_exit_check_reload(relay_run_t *rr, const allium_options_t *oldo,
                      const allium_options_t *newo)
{
  app_exit_abort_reload();
  if (!rr)
    return 0;
  if (build_policy(rr, newo, &NEXT, true) < 0)
    return -1;
  bool changed = app_exit_dns_options_changed(oldo, newo);
  if (exit_policy_is_exit(NEXT.policy)) {
    if ((!DNS || changed) && !(NEXT_DNS = start_resolver(newo, true))) {
      app_exit_abort_reload();
      return -1;
    }
  } else if (changed) {
    NEXT_DROP_DNS = true;   /* a non-exit needs none; a new one later */
  }
  NEXT_READY = true;
  return 0;
}

/* Replace the resolver: lookups in flight on the old one are answered
 * (exit_set_resolver()) before it is freed. */
static void
swap_resolver(exit_t *x, exit_dns_t *dns)
{
  exit_resolver_t res = { dns_resolve, dns_resolve_ptr, dns_cancel, dns };
  if (x)
    exit_set_resolver(x, dns ? &res : NULL);
  exit_dns_free(DNS);
  DNS = dns;
  log_notice("ServerDNS* options changed: %s.",
             dns ? "the exit uses a new resolver" : "resolver stopped");
}

void
app_exit_reconfigure(relay_run_t *rr)
{
  if (!NEXT_READY || !rr)
    return;
  exit_t *x = relay_run_exit(rr);
  bool was_exit = x && exit_policy_is_exit(CUR.policy);
  bool is_exit = exit_policy_is_exit(NEXT.policy);
  if (NEXT_DNS || (NEXT_DROP_DNS && DNS))
    swap_resolver(x, NEXT_DNS);
  NEXT_DNS = NULL;
  if (x) {
    exit_set_policy(x, NEXT.policy, NEXT.ipv6_exit);
  } else if (is_exit) {
    exit_resolver_t res = { dns_resolve, dns_resolve_ptr, dns_cancel, DNS };
    if (relay_run_enable_exit(rr, NEXT.policy, NEXT.ipv6_exit, &res) < 0) {
      log_warn("Couldn't start the exit streams: not an exit.");
      app_exit_abort_reload();
      return;
    }
  }
  built_clear(&CUR);   /* after the exit stopped borrowing it */
  CUR = NEXT;
  memset(&NEXT, 0, sizeof(NEXT));
  NEXT_READY = NEXT_DROP_DNS = false;
  if (is_exit)
    log_exit(was_exit ? "still " : "now ");
  else if (was_exit)
    log_notice("The new exit policy accepts nothing: this relay is no "
               "longer an exit (new streams get END EXITPOLICY).");
}

void
app_exit_shutdown(void)
{
  app_exit_abort_reload();
  built_clear(&CUR);
  exit_dns_free(DNS);   /* after the relay runtime: no request is left */
}
