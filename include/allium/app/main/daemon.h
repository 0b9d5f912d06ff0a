/* daemon.h -- RunAsDaemon and PidFile.
 *
 * daemon_start() forks; the parent waits until the child reports how its
 * start-up went (daemon_finish()) and exits with that status, so a caller
 * of `allium` with RunAsDaemon 1 still learns about configuration or
 * DataDirectory errors from the exit status.  The child becomes a session
 * leader and, on success, points stdin/stdout/stderr at /dev/null.
 */
#ifndef ALLIUM_APP_MAIN_DAEMON_H
#define ALLIUM_APP_MAIN_DAEMON_H

/** Fork into the background.  Returns 0 in the child; the parent never
 * returns (it exits with the child's start-up status).  -1 on failure
 * (nothing forked). */
int daemon_start(void);

/** In the child: report exit_status (ALLIUM_EXIT_*) to the waiting parent;
 * on 0 also redirect stdio to /dev/null.  No-op if daemon_start() was not
 * called or already finished. */
void daemon_finish(int exit_status);

/** Write our pid ("PID\n") to path atomically (mode 0644).  0 or -1 with
 * *errmsg (caller frees). */
int pidfile_write(const char *path, char **errmsg);
/** Remove the pid file written by pidfile_write() (NULL ok; only when it
 * still names this process). */
void pidfile_remove(const char *path);

#endif
