/* bootstrap.h -- "Bootstrapped N% (tag): summary" progress reporting, the
 * way tor users know it (control-spec 4.1.10 "Status events", phases of
 * BOOTSTRAP PROGRESS=... TAG=... SUMMARY=...).
 *
 * Every part of the client that moves bootstrap forward reports its phase
 * here; a line is logged at notice only when the percentage grows, so
 * repeated or out-of-order reports are harmless.  bootstrap_reset() starts
 * over (a new daemon run, or tests).
 */
#ifndef ALLIUM_CORE_MAINLOOP_BOOTSTRAP_H
#define ALLIUM_CORE_MAINLOOP_BOOTSTRAP_H

#include <stdbool.h>

/** The phases (control-spec 4.1.10 lists them by tag). */
typedef enum bootstrap_phase_t {
  BOOTSTRAP_STARTING = 0,
  BOOTSTRAP_CONN = 5,                 /* conn: Connecting to a relay */
  BOOTSTRAP_CONN_DONE = 10,           /* conn_done */
  BOOTSTRAP_HANDSHAKE_DONE = 15,      /* handshake_done */
  BOOTSTRAP_ONEHOP_CREATE = 20,       /* onehop_create */
  BOOTSTRAP_REQUESTING_STATUS = 25,   /* requesting_status */
  BOOTSTRAP_LOADING_STATUS = 30,      /* loading_status */
  BOOTSTRAP_LOADING_KEYS = 40,        /* loading_keys */
  BOOTSTRAP_REQUESTING_DESCRIPTORS = 45,
  BOOTSTRAP_LOADING_DESCRIPTORS = 50, /* 50..74 by the fraction loaded */
  BOOTSTRAP_ENOUGH_DIRINFO = 75,
  BOOTSTRAP_AP_CONN = 80,             /* ap_conn */
  BOOTSTRAP_AP_CONN_DONE = 85,
  BOOTSTRAP_AP_HANDSHAKE_DONE = 90,
  BOOTSTRAP_CIRCUIT_CREATE = 95,
  BOOTSTRAP_DONE = 100,
} bootstrap_phase_t;

/** Report reaching phase (a bootstrap_phase_t, or for LOADING_DESCRIPTORS
 * any percentage 50..74).  Logs "Bootstrapped N% (tag): summary" at notice
 * when N is larger than anything reported before.  Returns true if a line
 * was logged. */
bool bootstrap_report(int percent);
/** Same, with a summary other than the phase's standard one (e.g.
 * "Loading relay descriptors (7/8)"). */
bool bootstrap_report_msg(int percent, const char *summary);
/** Highest percentage reported so far. */
int bootstrap_percent(void);
/** Tag and standard summary of the phase at or below percent (static). */
const char *bootstrap_tag(int percent);
const char *bootstrap_summary(int percent);
/** Forget the progress (next report logs again). */
void bootstrap_reset(void);

#endif
