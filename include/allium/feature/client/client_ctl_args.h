/* client_ctl_args.h -- the arguments of the client's control commands,
 * sans I/O (control-spec 3.8 MAPADDRESS, 3.10 EXTENDCIRCUIT, 3.11
 * SETCIRCUITPURPOSE, 3.13 ATTACHSTREAM, 3.16 CLOSESTREAM, 3.17
 * CLOSECIRCUIT).  Each parser returns 0, or the reply code of the error
 * (512 syntax, 552 unknown value) with the reply text in err.  Exported
 * for the fuzz target and the tests.
 */
#ifndef ALLIUM_FEATURE_CLIENT_CLIENT_CTL_ARGS_H
#define ALLIUM_FEATURE_CLIENT_CLIENT_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENT_CTL_ERR_LEN 160      /* err buffers */
#define CLIENT_CTL_PATH_MAX 4       /* EXTENDCIRCUIT hops */
#define CLIENT_CTL_SPEC_MAX 64      /* one ServerSpec */

/** A decimal ID of 1..max digits only ("0" allowed).  0 or -1. */
int client_ctl_parse_id(const char *s, uint64_t max, uint64_t *out);

/** ATTACHSTREAM StreamID CircuitID [HOP=n]. */
typedef struct client_ctl_attach_args_t {
  uint64_t stream_id;
  uint32_t circ_id;                 /**< 0: the client chooses */
  unsigned hop;                     /**< 0: not given */
} client_ctl_attach_args_t;
int client_ctl_parse_attach(const char *args, client_ctl_attach_args_t *out,
                            char *err, size_t errlen);

/** EXTENDCIRCUIT CircuitID [ServerSpec *("," ServerSpec)] [purpose=P]. */
typedef struct client_ctl_extend_args_t {
  uint32_t circ_id;
  char path[CLIENT_CTL_PATH_MAX][CLIENT_CTL_SPEC_MAX];
  size_t n_path;
  bool controller;                  /**< purpose=controller */
} client_ctl_extend_args_t;
int client_ctl_parse_extend(const char *args, client_ctl_extend_args_t *out,
                            char *err, size_t errlen);

/** A ServerSpec: 40 hex digits ("$" optional, as tor), optionally followed
 * by "~nick" or "=nick", or a nickname (1-19 letters and digits).  0 with id (has_id) or nick, or -1. */
int client_ctl_parse_server_spec(const char *s, uint8_t id[20], bool *has_id,
                                 char nick[20]);

/** SETCIRCUITPURPOSE CircuitID purpose=general|controller. */
int client_ctl_parse_purpose(const char *args, uint32_t *circ_id,
                             bool *controller, char *err, size_t errlen);

/** CLOSECIRCUIT CircuitID [IfUnused] (other flags ignored, as tor). */
int client_ctl_parse_closecircuit(const char *args, uint32_t *circ_id,
                                  bool *if_unused, char *err, size_t errlen);

/** CLOSESTREAM StreamID Reason [flags]. */
int client_ctl_parse_closestream(const char *args, uint64_t *stream_id,
                                 uint8_t *reason, char *err, size_t errlen);

/** Most address mappings (MapAddress lines and MAPADDRESS together). */
#define CLIENT_ADDRMAP_MAX 4096

/** An address a mapping may use: a hostname (letters, digits, '-', '_',
 * '.'; labels not empty, at most 255 bytes) or an IPv4 / IPv6 address
 * (brackets allowed). */
bool client_ctl_addr_ok(const char *s);
/** The same for n bytes (a hostname in a RESOLVED answer). */
bool client_ctl_addr_ok_n(const uint8_t *b, size_t n);

#endif
