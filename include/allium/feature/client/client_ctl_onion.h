/* client_ctl_onion.h -- onion services and onion-service client
 * authorization on the control port (control-spec 3.26 HSFETCH, 3.27
 * ADD_ONION, 3.28 DEL_ONION, 3.30-3.32 ONION_CLIENT_AUTH_ADD / _REMOVE /
 * _VIEW, 4.1.25 HS_DESC): the argument parsers, sans I/O (tests and the
 * fuzz target use them), and the attach / detach of the commands.
 *
 * The parsers return 0, or the reply code tor gives for the error (512,
 * 513, 552) with *why set to its static text.
 */
#ifndef ALLIUM_FEATURE_CLIENT_CLIENT_CTL_ONION_H
#define ALLIUM_FEATURE_CLIENT_CLIENT_CTL_ONION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/feature/hs_common/hs_crypto.h"
#include "allium/feature/hs_service/hs_service_config.h"
#include "allium/lib/crypto/ed25519.h"

/** Most argument tokens of one command (more: 512). */
#define CLIENT_ONION_MAX_ARGS 256
/** Most Port= and ClientAuthV3= arguments of one ADD_ONION. */
#define CLIENT_ONION_MAX_PORTS 64
#define CLIENT_ONION_MAX_CLIENTS 128
/** Longest ClientName of ONION_CLIENT_AUTH_ADD. */
#define CLIENT_ONION_MAX_NAME 64

/** A parsed ADD_ONION. */
typedef struct client_onion_add_t {
  bool key_new;               /**< NEW:BEST or NEW:ED25519-V3 */
  ed25519_keypair_t key;      /**< the given key (key_new false) */
  bool discard_pk, detach, max_streams_close, v3auth, non_anonymous;
  int max_streams;            /**< 0..65535 (0: unlimited) */
  hs_service_port_t *ports;   /**< n_ports (>= 1) */
  size_t n_ports;
  uint8_t (*clients)[32];     /**< ClientAuthV3 x25519 public keys */
  size_t n_clients;
} client_onion_add_t;

/** Parse the arguments of ADD_ONION into *out (clear it with
 * client_onion_add_clear() whatever the result).  single_onion: the
 * process runs HiddenServiceSingleHopMode + NonAnonymousMode, so
 * Flags=NonAnonymous is required (otherwise refused). */
int client_onion_parse_add(const char *args, bool single_onion,
                           client_onion_add_t *out, const char **why);
void client_onion_add_clear(client_onion_add_t *a);

/** A 56-character v3 onion address without ".onion" (either case), with
 * a correct checksum.  0 or -1. */
int client_onion_parse_id(const char *s, ed25519_public_key_t *pk);

/** A parsed ONION_CLIENT_AUTH_ADD. */
typedef struct client_onion_auth_add_t {
  ed25519_public_key_t pk;
  uint8_t secret[32];
  char name[CLIENT_ONION_MAX_NAME + 1];   /**< "" when not given */
  bool permanent;
} client_onion_auth_add_t;

/** Parse "HSAddress x25519:<base64> [ClientName=N] [Flags=Permanent]"
 * into *out (wiped on error). */
int client_onion_parse_auth_add(const char *args, client_onion_auth_add_t *out,
                                const char **why);

struct client_t;
/** Register the commands, GETINFO onions/current and onions/detached and
 * the close hook (from client_ctl_attach()). */
void client_ctl_onion_attach(struct client_t *c);
/** Unregister them, forget the control port's client authorization keys
 * (ADD_ONION services stay until the client ends). */
void client_ctl_onion_detach(struct client_t *c);

#endif
