/* router_desc.h -- build and sign this relay's server descriptor
 * (dir-spec 2.1.1 "Server descriptor format", nonterminals of 2.1.3;
 * certificate formats of cert-spec 2.1 and appendix A).
 *
 * router_desc_build() turns a router_desc_params_t (keys, addresses,
 * bandwidth, ...) into the signed text a relay uploads to the directory
 * authorities.  Items come in the order tor 0.4.9 writes them, which is also
 * an order its authorities accept: "router", "identity-ed25519" (second, as
 * dir-spec requires), "master-key-ed25519", [IPv6 "or-address"], "platform",
 * "proto", "published", "fingerprint", "uptime", "bandwidth", "onion-key",
 * "signing-key", "onion-key-crosscert", "ntor-onion-key-crosscert",
 * ["family"], ["hidden-service-dir"], ["contact"], "ntor-onion-key", the exit
 * policy, ["tunnelled-dir-server"], "router-sig-ed25519" (next to last) and
 * "router-signature" (last).
 *
 * The TAP "onion-key" is no longer used for circuits (proposal 350), but
 * tor 0.4.9 authorities still reject a descriptor without it, so it is
 * always published together with its crosscert: an RSA PKCS#1 type-1
 * signature by the onion key of SHA1(DER of the RSA identity) || the ed25519
 * master identity (52 bytes, signed raw, not hashed).
 */
#ifndef ALLIUM_FEATURE_RELAY_ROUTER_DESC_H
#define ALLIUM_FEATURE_RELAY_ROUTER_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "allium/feature/keys/relay_keys.h"

/** The subprotocols allium's relay role implements, advertised in the
 * "proto" line (tor-spec 9).  One place to change when a capability lands;
 * see doc/interop.md ("Relay descriptor") for why each number is there:
 *   Cons=1-2 Desc=1-2 Microdesc=1-2   directory documents allium parses
 *   DirCache=2         BEGIN_DIR directory requests incl. consensus diffs
 *                      (feature/dircache, cellswitch_stream.c)
 *   FlowCtrl=1-2       authenticated (v1) SENDMEs; congestion control
 *                      (proposal 324) at circuits ending here: the ntor v3
 *                      CC_REQUEST answered (relay_run.c), a congestion
 *                      window and XON/XOFF (circuit_relay.c, stream.c);
 *                      proven with tor clients in tests/integration/
 *                      allium-exit-cc
 *   HSDir=2            v3 onion-service descriptors stored and served over
 *                      BEGIN_DIR (feature/dircache/dircache_hs.c); proven
 *                      with a tor service and client in tests/integration/
 *                      allium-hsdir
 *   HSIntro=4-5        v3 introduction point with the DoS extension
 *                      (feature/relay/relay_hs.c; tests/integration/
 *                      allium-hs-relay with a tor service and client)
 *   HSRend=2           v3 rendezvous point, RENDEZVOUS2 of any length
 *                      (relay_hs.c, cellswitch_circ_splice())
 *   Link=4-5           allium negotiates only link protocols 4 and 5
 *   LinkAuth=3         Ed25519-SHA256-RFC5705 AUTHENTICATE
 *   Relay=2-4          ntor + CREATE2/EXTEND2, extends over IPv6 link specs,
 *                      ntor v3 answered (onion_server.c; checked against
 *                      tor's own answer in tests/cellswitch/run-relay-interop)
 * Not advertised: Relay=5-6 (subprotocol requests, CGO), HSRend=1 (v2),
 * Padding, Conflux, Desc=3-4, Microdesc=3. */
#define ROUTER_DESC_PROTO \
  "Cons=1-2 Desc=1-2 DirCache=2 FlowCtrl=1-2 HSDir=2 HSIntro=4-5 HSRend=2 " \
  "Link=4-5 LinkAuth=3 Microdesc=1-2 Relay=2-4"

/** Largest descriptor an authority accepts (dir-spec 2.1). */
#define ROUTER_DESC_MAX_LEN 20000
/** Lifetime of the ntor-onion-key-crosscert made for each descriptor. */
#define ROUTER_DESC_NTOR_CROSSCERT_LIFETIME (14 * 24 * 3600)
/** Limits on caller-supplied strings (each also bounded by MAX_LEN). */
#define ROUTER_DESC_MAX_STRING 1024
#define ROUTER_DESC_MAX_FAMILY 512
#define ROUTER_DESC_MAX_POLICY 256

/* Errors (negative). */
#define ROUTER_DESC_ERR_ARG    (-1) /**< a parameter is missing or malformed */
#define ROUTER_DESC_ERR_KEYS   (-2) /**< a key is missing/expired, or signing failed */
#define ROUTER_DESC_ERR_SIZE   (-3) /**< the result would exceed ROUTER_DESC_MAX_LEN */

/** What goes into a descriptor.  Pointers are borrowed for the call. */
typedef struct router_desc_params_t {
  const relay_keys_t *keys;      /**< identity, onion and signing keys */
  const char *nickname;          /**< 1-19 characters [A-Za-z0-9] */
  uint8_t ipv4[4];               /**< advertised IPv4 address (not 0.0.0.0) */
  uint16_t orport;               /**< advertised ORPort (non-zero) */
  bool has_ipv6;                 /**< publish an IPv6 "or-address" */
  uint8_t ipv6[16];
  uint16_t ipv6_orport;          /**< non-zero when has_ipv6 */
  uint16_t dirport;              /**< 0: no DirPort (allium serves BEGIN_DIR) */
  const char *platform;          /**< NULL: router_desc_platform_default() */
  const char *proto;             /**< NULL: ROUTER_DESC_PROTO */
  time_t published;              /**< > 0; written to the second */
  uint64_t uptime;               /**< seconds since this process started */
  uint64_t bw_avg, bw_burst, bw_observed; /**< bytes/s; 1 <= avg <= burst */
  const char *contact;           /**< NULL or "": omitted */
  const char *const *family;     /**< "$HEX40", "$HEX40~nick", "$HEX40=nick"
                                  *   or nicknames; n_family entries */
  size_t n_family;
  bool tunnelled_dir_server;     /**< accepts BEGIN_DIR (gives V2Dir) */
  bool hidden_service_dir;       /**< stores v3 onion-service descriptors */
  const char *const *policy;     /**< exit policy lines, e.g. "reject *:*";
                                  *   n_policy == 0 means {"reject *:*"} */
  size_t n_policy;
  bool hibernating;              /**< "hibernating 1" (AccountingMax) */
  const char *ipv6_policy;       /**< "ipv6-policy" summary ("accept 80,443",
                                  *   dir-spec 2.1.1); NULL: left out (no
                                  *   IPv6 exit) */
} router_desc_params_t;

/** Build and sign the descriptor for p.  On success *out is a new
 * NUL-terminated string (caller frees with al_free()), *len its length
 * (<= ROUTER_DESC_MAX_LEN), and 0 is returned.  On failure *out is NULL and
 * a ROUTER_DESC_ERR_* is returned; nothing secret is logged. */
int router_desc_build(const router_desc_params_t *p, char **out, size_t *len);

/** A short static description of a ROUTER_DESC_ERR_* value. */
const char *router_desc_strerror(int err);

/** Write the default "platform" value, "allium VERSION on SYSNAME" (e.g.
 * "allium 0.1.0-dev on Linux"), into buf (NUL-terminated).  It names allium
 * honestly; as it does not start with "Tor ", authorities skip their
 * version check and list no "v" line for the relay.  0, or -1 if buflen is
 * too small. */
int router_desc_platform_default(char *buf, size_t buflen);

/** 1 when a and b would give descriptors that differ only in what tor
 * treats as cosmetic (published time, uptime, bandwidth numbers), so no
 * immediate republication is needed; 0 when anything else differs (keys,
 * addresses, ports, nickname, platform, proto, contact, family, flags,
 * policy). */
int router_desc_params_same_except_cosmetic(const router_desc_params_t *a,
                                            const router_desc_params_t *b);

/** SHA-1 digest of desc's signed portion ("router" through the newline
 * after "router-signature"), as /tor/server/d/ and the consensus use. 0/-1. */
int router_desc_digest(const char *desc, size_t len, uint8_t out[20]);

#endif
