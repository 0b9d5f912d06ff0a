/* app_exit.h -- (private to src/app/main) the exit role's wiring: the
 * effective exit policy from the options (feature/exit/exit_policy.h), the
 * exit streams on the relay runtime, the policy lines of the descriptor. */
#ifndef ALLIUM_SRC_APP_MAIN_APP_EXIT_H
#define ALLIUM_SRC_APP_MAIN_APP_EXIT_H

#include "allium/app/config/options.h"
#include "allium/feature/relay/relay_publish.h"
#include "allium/feature/relay/relay_run.h"

/** Build the exit policy for rr from o; serve exit streams when it
 * accepts anything.  0, or an exit status (ALLIUM_EXIT_CONFIG). */
int app_exit_init(relay_run_t *rr, const allium_options_t *o);
/** The descriptor's exit policy lines and ipv6-policy into pc (borrowed
 * until app_exit_shutdown()). */
void app_exit_publish_cfg(relay_publish_cfg_t *pc);
/** SIGHUP, before anything changes: build the policy (and a resolver when
 * a ServerDNS* option changed) of newo, kept for app_exit_reconfigure().
 * 0, or -1 (logged) to keep the old configuration.  rr NULL: no relay. */
int app_exit_check_reload(relay_run_t *rr, const allium_options_t *oldo,
                          const allium_options_t *newo);
/** SIGHUP: apply what app_exit_check_reload() built (new BEGINs use the
 * new policy; lookups on a replaced resolver are answered first), before
 * app_exit_publish_cfg() for the new descriptor. */
void app_exit_reconfigure(relay_run_t *rr);
/** SIGHUP rejected after app_exit_check_reload(): forget what it built. */
void app_exit_abort_reload(void);
/** True when a ServerDNS* option differs between a and b. */
bool app_exit_dns_options_changed(const allium_options_t *a,
                                  const allium_options_t *b);
/** After the relay runtime is freed. */
void app_exit_shutdown(void);

#endif
