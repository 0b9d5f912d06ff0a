/* privs.h -- the `User` option: switch from root to an unprivileged user,
 * keeping CAP_NET_BIND_SERVICE only when a configured port needs it, and
 * verify that the switch really happened.
 *
 * Order at start-up (app_main): open listeners as root (none yet), then
 * privs_drop().  The data directory is chown()ed to the user first, as tor
 * does, so the unprivileged process can keep using it.
 */
#ifndef ALLIUM_APP_MAIN_PRIVS_H
#define ALLIUM_APP_MAIN_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

/** Parse the first word of a port option value (SocksPort, ORPort,
 * DirPort, ControlPort, HTTPTunnelPort): "9050", "127.0.0.1:9050",
 * "[::1]:9050", "auto", "127.0.0.1:auto", "unix:/path", "0".
 * Sets *port_out to the TCP port (0 = disabled, -1 = auto or a unix socket:
 * never privileged).  Returns 0, or -1 when the word is not a port spec. */
int privs_port_parse(const char *value, int *port_out);

/** 1 when any of values[0..n-1] (port option values) names a TCP port in
 * 1..1023, 0 when none does, -1 when one of them does not parse. */
int privs_ports_need_bind_service(const char *const *values, size_t n);

/** Check the User option before anything else happens: when not root, a
 * User other than the current one is an error (-1, *errmsg set, caller
 * frees).  user may be NULL (nothing to do, 0). */
int privs_check_user(const char *user, char **errmsg);

/** When running as root with user set: chown datadir (recursively; NULL ok)
 * to the user, then switch groups, gid and uid, keeping only
 * CAP_NET_BIND_SERVICE (permitted and effective) if keep_bind_service, and
 * verify the result with privs_verify().  Returns 0 (also when user is NULL
 * or we are not root and user is the current user), or -1 with *errmsg set
 * (caller frees). */
int privs_drop(const char *user, const char *datadir, int keep_bind_service,
               char **errmsg);

/** Verify the process runs as uid/gid, cannot regain root (setuid(0)
 * fails) and holds exactly CAP_NET_BIND_SERVICE (if keep_bind_service) or
 * no capability at all.  0 or -1 with *errmsg set (caller frees). */
int privs_verify(uid_t uid, gid_t gid, int keep_bind_service, char **errmsg);

/** DisableDebuggerAttachment (tor(1), default 1): make the process
 * non-dumpable (prctl(PR_SET_DUMPABLE, 0)), so that no debugger of the same
 * user can attach (ptrace) and no core file is written.  Changing uid/gid
 * resets the flag to fs.suid_dumpable, so privs_drop() applies it again
 * when it was set.  0, or -1 when prctl failed (logged). */
int privs_disable_debugger_attachment(void);

#endif
