/* app_main.h -- the daemon's top level: command line, configuration,
 * subsystems, main loop. */
#ifndef ALLIUM_APP_MAIN_APP_MAIN_H
#define ALLIUM_APP_MAIN_APP_MAIN_H

/** Run allium with the given command line; returns the process exit code
 * (see allium(1), EXIT STATUS). */
int app_main(int argc, char **argv);

#endif
