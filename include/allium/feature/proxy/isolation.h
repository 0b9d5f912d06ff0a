/* isolation.h -- client port options and stream isolation rules.
 *
 * Parses the value of tor's SocksPort and HTTPTunnelPort options (tor(1):
 * "[address:]port|unix:path|auto [flags] [isolation flags]") into a
 * proxy_port_cfg_t, and decides whether two client streams may share a
 * circuit given their ports' isolation flags (IsolateClientAddr,
 * IsolateSOCKSAuth, IsolateClientProtocol, IsolateDestPort,
 * IsolateDestAddr, SessionGroup), transitively over every stream a
 * circuit has carried (proxy_iso_circ_t).
 */
#ifndef ALLIUM_FEATURE_PROXY_ISOLATION_H
#define ALLIUM_FEATURE_PROXY_ISOLATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/core/policy/policy.h"

/* Isolation flags. */
#define PROXY_ISO_CLIENTADDR     (1u << 0)  /* default on */
#define PROXY_ISO_SOCKSAUTH      (1u << 1)  /* default on */
#define PROXY_ISO_CLIENTPROTOCOL (1u << 2)
#define PROXY_ISO_DESTPORT       (1u << 3)
#define PROXY_ISO_DESTADDR       (1u << 4)
#define PROXY_ISO_DEFAULT (PROXY_ISO_CLIENTADDR | PROXY_ISO_SOCKSAUTH)

/* Other port flags. */
#define PROXY_PF_IPV4_TRAFFIC        (1u << 0)   /* default on */
#define PROXY_PF_IPV6_TRAFFIC        (1u << 1)
#define PROXY_PF_PREFER_IPV6         (1u << 2)
#define PROXY_PF_DNS_REQUEST         (1u << 3)   /* default on */
#define PROXY_PF_ONION_TRAFFIC       (1u << 4)   /* default on */
#define PROXY_PF_CACHE_IPV4_DNS      (1u << 5)
#define PROXY_PF_CACHE_IPV6_DNS      (1u << 6)
#define PROXY_PF_USE_IPV4_CACHE      (1u << 7)
#define PROXY_PF_USE_IPV6_CACHE      (1u << 8)
#define PROXY_PF_PREFER_IPV6_AUTOMAP (1u << 9)   /* default on */
#define PROXY_PF_PREFER_SOCKS_NOAUTH (1u << 10)
#define PROXY_PF_EXTENDED_ERRORS     (1u << 11)
#define PROXY_PF_GROUP_WRITABLE      (1u << 12)
#define PROXY_PF_WORLD_WRITABLE      (1u << 13)
#define PROXY_PF_RELAX_DIRMODE_CHECK (1u << 14)
#define PROXY_PF_KEEPALIVE_ISO_SOCKSAUTH (1u << 15)
#define PROXY_PF_DEFAULT (PROXY_PF_IPV4_TRAFFIC | PROXY_PF_DNS_REQUEST | \
                          PROXY_PF_ONION_TRAFFIC | PROXY_PF_PREFER_IPV6_AUTOMAP)

typedef enum proxy_port_kind_t {
  PROXY_PORT_SOCKS = 1,
  PROXY_PORT_HTTP_TUNNEL = 2,
} proxy_port_kind_t;

typedef struct proxy_port_cfg_t {
  proxy_port_kind_t kind;
  bool disabled;        /* port "0" */
  bool is_auto;         /* port "auto" */
  bool is_unix;
  char *unix_path;      /* owned; NULL unless is_unix */
  policy_addr_t addr;   /* listen address (default 127.0.0.1) */
  uint16_t port;
  uint32_t flags;       /* PROXY_PF_* */
  uint32_t iso_flags;   /* PROXY_ISO_* */
  int session_group;    /* SessionGroup=N, or -1 */
} proxy_port_cfg_t;

/** Parse a SocksPort / HTTPTunnelPort value.  Flags are case-insensitive,
 * processed left to right (the last conflicting one wins); flags that are
 * on by default may be negated with a "No" prefix (NoIsolateClientAddr,
 * NoDNSRequest, NoIPv4Traffic, ...).  HTTPTunnelPort takes isolation flags
 * only and no unix: path.  IsolateClientAddr is forced off for unix
 * sockets.  On error returns -1, leaves *out cleared and, if err is not
 * NULL, sets *err to a message naming the bad token (caller frees).
 * On success the caller releases *out with proxy_port_cfg_clear(). */
int proxy_port_parse(const char *value, proxy_port_kind_t kind,
                     proxy_port_cfg_t *out, char **err);
/** Free what *cfg owns and zero it. */
void proxy_port_cfg_clear(proxy_port_cfg_t *cfg);

/** Client protocols (IsolateClientProtocol). */
typedef enum proxy_client_proto_t {
  PROXY_PROTO_SOCKS4 = 1,
  PROXY_PROTO_SOCKS5 = 2,
  PROXY_PROTO_HTTP_CONNECT = 3,
  PROXY_PROTO_TRANS = 4,
  PROXY_PROTO_NATD = 5,
  PROXY_PROTO_DNS = 6,
} proxy_client_proto_t;

/** What isolation looks at for one stream.  Pointers are borrowed. */
typedef struct proxy_iso_attrs_t {
  uint32_t listener_id;        /* which port the stream came in on */
  int session_group;           /* that port's SessionGroup, or -1 */
  uint32_t iso_flags;          /* that port's PROXY_ISO_* */
  proxy_client_proto_t proto;
  policy_addr_t client_addr;   /* family 0 for unix sockets */
  bool has_auth;               /* SOCKS auth / HTTP isolation headers */
  const uint8_t *auth1;        /* username / Proxy-Authorization */
  size_t auth1_len;
  const uint8_t *auth2;        /* password / X-Tor-Stream-Isolation */
  size_t auth2_len;
  const char *dest_addr;       /* hostname or address text */
  uint16_t dest_port;
  uint64_t nym_epoch;          /* bumped by NEWNYM */
} proxy_iso_attrs_t;

/** May streams a and b share a circuit?  Both streams' flags apply: an
 * attribute is compared if either port isolates on it.  Streams from
 * different ports never share unless both ports have the same
 * SessionGroup; streams of different NEWNYM epochs never share.
 * Destination hostnames compare case-insensitively. */
bool proxy_iso_may_share(const proxy_iso_attrs_t *a,
                         const proxy_iso_attrs_t *b);

/** The PROXY_ISO_* attributes whose values differ between a and b (whether
 * or not a port isolates on them). */
uint32_t proxy_iso_differs(const proxy_iso_attrs_t *a,
                           const proxy_iso_attrs_t *b);

/** Isolation memory of one circuit (tor(1) SocksPort isolation flags
 * apply to every pair of streams a circuit carries, not only to the
 * first): the caller keeps the first stream's attributes; this records
 * which isolation flags any carried stream's port had and which
 * attributes have differed among the carried streams.  Zero-initialise. */
typedef struct proxy_iso_circ_t {
  bool used;             /* a stream has been added */
  uint32_t flags_seen;   /* OR of the carried streams' iso_flags */
  uint32_t mixed;        /* PROXY_ISO_* attributes that differed */
} proxy_iso_circ_t;

/** May stream s join a circuit whose first stream was first and whose
 * memory is st: true exactly when proxy_iso_may_share(s, x) holds for
 * every stream x the circuit has carried (so a third stream cannot join a
 * circuit shared by a stream isolated from it).  True if !st->used. */
bool proxy_iso_circ_may_add(const proxy_iso_attrs_t *first,
                            const proxy_iso_circ_t *st,
                            const proxy_iso_attrs_t *s);
/** Record that s joined the circuit (first: the first stream's attributes;
 * when st is unused, s is the first stream). */
void proxy_iso_circ_add(const proxy_iso_attrs_t *first, proxy_iso_circ_t *st,
                        const proxy_iso_attrs_t *s);

#endif
