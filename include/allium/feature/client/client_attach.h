/* client_attach.h -- the pure decisions of the client (no I/O): relay ->
 * circuit hop spec (tor-spec 5.1.2 link specifiers), may a stream use a
 * circuit (tor-spec 6.2, path-spec 2.1, tor(1) MaxCircuitDirtiness and the
 * isolation flags), what to do with an END before CONNECTED (tor-spec 6.3),
 * and the SOCKS answers to RESOLVED (tor-spec 6.4, socks-extensions.txt).
 * Used by the client module; exported for tests.
 */
#ifndef ALLIUM_FEATURE_CLIENT_CLIENT_ATTACH_H
#define ALLIUM_FEATURE_CLIENT_CLIENT_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/circuit/circuit_origin.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/pathsel/pathsel.h"
#include "allium/feature/proxy/isolation.h"
#include "allium/feature/proxy/socks.h"
#include "allium/lib/crypto/ed25519.h"

/** Fill *out for n: RSA id, ed25519 id (if known), ntor key, and the IPv4
 * address + ORPort (plus IPv6 if the node has one).  -1 if n has no ntor
 * key or no IPv4 ORPort (nothing to extend to). */
int client_hop_spec_from_node(const node_t *n, circ_hop_spec_t *out);
/** The same for a first hop, which we connect to directly: the address we
 * connect to comes first (tor(1) ClientUseIPv4 / ClientUseIPv6 /
 * ClientPreferIPv6ORPort, see pathsel_first_hop_use_ipv6()), and an
 * address family we may not use is left out.  -1 as above, or if n has no
 * ORPort we may connect to. */
int client_hop_spec_first_hop(const node_t *n, const pathsel_options_t *o,
                              circ_hop_spec_t *out);

/** Congestion control for the exit hop (proposal 324 10.1): sets
 * out->want_cc and out->cc_params when the consensus's cc_alg is not 0 and
 * the exit lists FlowCtrl=2 and Relay=4 and its ed25519 id is known (ntor
 * v3 needs it).  nl may be NULL (defaults).  Returns out->want_cc. */
bool client_hop_spec_set_cc(const node_t *exit, const nodelist_t *nl,
                            circ_hop_spec_t *out);

/** What the attach decision looks at for one circuit. */
typedef struct client_circ_view_t {
  bool built;                       /**< on_built ran */
  bool closed;                      /**< closed or closing */
  const node_t *exit;               /**< its last hop in the nodelist; NULL:
                                     *   unknown (not usable for streams) */
  uint64_t first_use_msec;          /**< first stream attached; 0: clean */
  const proxy_iso_attrs_t *iso;     /**< first stream's attributes; NULL:
                                     *   none carried yet */
  const proxy_iso_circ_t *iso_state;/**< what its streams had (transitive
                                     *   isolation); NULL: compare with
                                     *   the first stream only */
} client_circ_view_t;

typedef enum client_attach_verdict_t {
  CLIENT_ATTACH_OK = 0,
  CLIENT_ATTACH_NOT_BUILT,
  CLIENT_ATTACH_CLOSED,
  CLIENT_ATTACH_POLICY,             /**< exit unknown or rejects the port */
  CLIENT_ATTACH_DIRTY,              /**< used longer than max_dirtiness */
  CLIENT_ATTACH_ISOLATION,          /**< isolation forbids sharing */
} client_attach_verdict_t;

/** Does exit n's policy allow a stream to port at dest (NULL or family 0:
 * a hostname the exit will resolve)?  With a known address and a full
 * policy (server descriptor) the policy decides for that address (tor-spec
 * 6.2: the exit applies its policy to the resolved address); else the
 * port-only rule of node_allows_exit_port(). */
bool client_exit_allows(const node_t *n, const policy_addr_t *dest,
                        uint16_t port);

/** May a stream to dest:port (dest NULL: hostname) with isolation
 * attributes stream use circuit v at now_msec (same clock as
 * first_use_msec)? */
client_attach_verdict_t client_circ_may_attach(const client_circ_view_t *v,
                                               const policy_addr_t *dest,
                                               uint16_t port,
                                               const proxy_iso_attrs_t *stream,
                                               uint64_t now_msec,
                                               uint32_t max_dirtiness_sec);

/** Should a stream that got END(reason) before CONNECTED be retried on
 * another circuit (true), or the failure reported to the application? */
bool client_end_reason_retriable(uint8_t reason);
/** SOCKS5 reply code for a stream that failed with END(reason) (after the
 * retries, if any): CONNECTREFUSED -> CONNECTION_REFUSED, RESOLVEFAILED ->
 * HOST_UNREACHABLE, EXITPOLICY -> NOT_ALLOWED, TIMEOUT -> TTL_EXPIRED,
 * NOROUTE -> NET_UNREACHABLE, others GENERAL_FAILURE. */
uint8_t client_end_reason_socks5(uint8_t reason);
/** proposal 304 SOCKS5 reply for a failed onion-service connection
 * attempt, from an hs_client_rend status (hs_client_rend.h): introduction
 * failed X'F2', rendezvous failed X'F3', introduction timed out X'F7';
 * anything else (no path) GENERAL_FAILURE.  OK (0) gives 0. */
uint8_t client_hs_rend_status_socks5(int status);

/** Encode the SOCKS reply to a RESOLVE (command SOCKS_CMD_RESOLVE, answer
 * the first IPv4 -- or for SOCKS5 the first IPv4/IPv6 -- answer) or
 * RESOLVE_PTR (the first hostname answer) request from the RESOLVED body
 * (tor-spec 6.4); an error answer or no usable answer gives
 * HOST_UNREACHABLE, a malformed body GENERAL_FAILURE.  version 4 or 5.
 * Returns the reply length written to out, or -1. */
int client_resolved_reply(uint8_t version, uint8_t command,
                          const uint8_t *body, size_t len,
                          uint8_t *out, size_t outlen);

/** The reverse-lookup name for an IPv4 / IPv6 SOCKS target
 * ("4.3.2.1.in-addr.arpa", nibbles + "ip6.arpa").  0, or -1 if the
 * address type has none or out is too small (>= 74 bytes always fits). */
int client_ptr_name(const socks_addr_t *a, char *out, size_t outlen);

/** BEGIN flags (tor-spec 6.2) for a port's PROXY_PF_* flags. */
uint32_t client_begin_flags(uint32_t port_flags);
/** Checks common to SOCKS and HTTP CONNECT targets (tor(1) SocksPort
 * flags f: NoDNSRequest, NoIPv4Traffic, IPv6Traffic, NoOnionTraffic,
 * ExtendedErrors; ".exit" never allowed; CONNECT needs a port): 0, or the
 * SOCKS5 reply code.  ".onion": an invalid address gets X'F6' (proposal
 * 304) with ExtendedErrors, else GENERAL_FAILURE, as tor; a valid one
 * passes for CONNECT (the caller fetches its descriptor) and is refused
 * (GENERAL_FAILURE) for RESOLVE. */
/** Is host an onion-service name?  0: not ".onion"; 1: a valid v3 address
 * (rend-spec-v3 6: 56 base32 characters, version 3, checksum, a key in
 * the prime-order subgroup), possibly with subdomains ("www.<addr>.onion",
 * as tor: only the last label before ".onion" counts) and a trailing dot;
 * *pk_out (may be NULL) gets the identity key; -1: ".onion" but not a
 * valid v3 address (v2 addresses included). */
int client_onion_target(const char *host, ed25519_public_key_t *pk_out);
uint8_t client_check_target(bool connect, const char *host, uint16_t port,
                            uint8_t atyp, uint32_t f);

/* ---- predicted ports (path-spec 2.1.1) ---- */

/** Ports remembered at most, and for how long a use predicts the port. */
#define CLIENT_PREDICT_MAX 16
#define CLIENT_PREDICT_WINDOW_MSEC (3600u * 1000u)

/** The ports application streams asked for recently.  path-spec 2.1.1:
 * the client keeps clean circuits ready for the ports used in the last
 * hour, and predicts port 80 when it starts. */
typedef struct client_predict_t {
  uint16_t port[CLIENT_PREDICT_MAX];
  uint64_t last_msec[CLIENT_PREDICT_MAX];
  size_t n;
} client_predict_t;

/** Start with port 80 predicted as used at now. */
void client_predict_init(client_predict_t *p, uint64_t now);
/** A stream asked for port (0 is ignored): refresh it, or add it in place
 * of the least recently used entry when full. */
void client_predict_note(client_predict_t *p, uint16_t port, uint64_t now);
/** The ports used within CLIENT_PREDICT_WINDOW_MSEC of now, most recent
 * first, into out[max]; returns how many. */
size_t client_predict_ports(const client_predict_t *p, uint64_t now,
                            uint16_t *out, size_t max);

#endif
