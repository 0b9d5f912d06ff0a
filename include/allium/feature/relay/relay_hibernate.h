/* relay_hibernate.h -- AccountingMax at run time (tor(1) AccountingMax,
 * AccountingStart, AccountingRule): counts the relay's channel bytes
 * (core/channel/channel_bw.h) once a second into the accounting of
 * relay_acct.h, keeps its state in DataDirectory/state (tor's Accounting*
 * lines, other lines kept), and hibernates as tor does:
 *  - soft (the budget is nearly spent): "Bandwidth soft limit reached;
 *    commencing hibernation."  The ORPort stops accepting connections,
 *    CREATE cells get DESTROY(HIBERNATING), and the descriptor is
 *    republished with "hibernating 1";
 *  - hard (AccountingMax reached, or a new interval before its randomized
 *    wakeup point): every relay channel is closed as well, until the next
 *    interval's wakeup point. */
#ifndef ALLIUM_FEATURE_RELAY_RELAY_HIBERNATE_H
#define ALLIUM_FEATURE_RELAY_RELAY_HIBERNATE_H

#include <stdbool.h>
#include <stdint.h>

#include "allium/feature/relay/relay_acct.h"
#include "allium/feature/relay/relay_run.h"

typedef struct relay_hibernate_cfg_t {
  uint64_t max;             /**< AccountingMax (0: accounting off) */
  const char *start;        /**< AccountingStart (NULL: month 1 0:00) */
  const char *rule;         /**< AccountingRule (NULL: max) */
  const char *state_file;   /**< DataDirectory/state (NULL: not kept) */
} relay_hibernate_cfg_t;

typedef struct relay_hibernate_t relay_hibernate_t;

/** Start accounting for rr (which must outlive it) once a second on the
 * loop.  NULL with *errmsg on a malformed option. */
relay_hibernate_t *relay_hibernate_new(relay_run_t *rr,
                                       const relay_hibernate_cfg_t *cfg,
                                       char **errmsg);
/** SIGHUP: new AccountingMax / AccountingRule apply at once; a new
 * AccountingStart begins a new interval.  0 or -1 with *errmsg. */
int relay_hibernate_reconfigure(relay_hibernate_t *h,
                                const relay_hibernate_cfg_t *cfg,
                                char **errmsg);
/** Save the state and stop.  NULL ok. */
void relay_hibernate_free_(relay_hibernate_t *h);
#define relay_hibernate_free(p) \
  do { relay_hibernate_free_(p); (p) = NULL; } while (0)

/** Once the relay accepts (after relay_run_start()): apply the current
 * state again, so that a relay starting asleep keeps its ORPort closed.
 * NULL ok. */
void relay_hibernate_reapply(relay_hibernate_t *h);
/** The current state (RELAY_HIB_AWAKE when h is NULL). */
relay_hib_state_t relay_hibernate_state(const relay_hibernate_t *h);
/** The accounting (borrowed), for the heartbeat and tests. */
const relay_acct_t *relay_hibernate_acct(const relay_hibernate_t *h);
/** Log the accounting heartbeat line. */
void relay_hibernate_log_status(const relay_hibernate_t *h);

#endif
