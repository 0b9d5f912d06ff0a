/* subsystems.h -- the ordered list of the daemon's subsystems.
 *
 * subsystems.c holds one table of {name, init, shutdown}: start-up runs the
 * init functions top to bottom, shutdown runs the shutdown functions of the
 * ones that started, bottom to top.  Read that table to learn the order.
 */
#ifndef ALLIUM_APP_MAIN_SUBSYSTEMS_H
#define ALLIUM_APP_MAIN_SUBSYSTEMS_H

#include <stddef.h>

typedef struct subsys_t {
  const char *name;
  /** 0, or an exit status (ALLIUM_EXIT_*) after logging why. NULL = none. */
  int (*init)(void);
  /** Undo init; NULL = nothing to do. */
  void (*shutdown)(void);
} subsys_t;

/** The table, in start-up order; *n_out receives its length. */
const subsys_t *subsystems_list(size_t *n_out);

/** Start every subsystem in order.  On failure, shut down the ones already
 * started and return the failing init's exit status; else 0. */
int subsystems_init_all(void);

/** Shut down the started subsystems in reverse order (idempotent). */
void subsystems_shutdown_all(void);

#endif
