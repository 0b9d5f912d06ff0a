/* relay_ports.h -- the relay's ORPort and Address options in tor's syntax
 * (tor(1) "ORPort [address:]PORT|auto [flags]", "Address addr"), parsed
 * without I/O (no name lookups, no binding).
 *
 * One ORPort line gives one or two ports:
 *   - "PORT" or "auto" alone: listen on 0.0.0.0 and on [::] (the IPv6 one
 *     marked implicit: the runtime may skip it when the host has no IPv6),
 *     advertising the IPv4 one and the IPv6 one only with a known IPv6
 *     address; IPv4Only / IPv6Only keep one family;
 *   - "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6): that address only;
 *   - "0": no port (the line disables nothing else);
 *   - flags, case-insensitive: NoListen (advertise, do not bind; for a
 *     port forwarded to us), NoAdvertise (bind, do not publish), IPv4Only,
 *     IPv6Only.  NoListen with NoAdvertise, IPv4Only with IPv6Only, a family
 *     flag that contradicts the address, an unknown flag, or a host name
 *     are errors (fail closed: a host name would need a lookup).
 * Over all lines: at most one advertised port per family, and at least one
 * port we listen on.
 */
#ifndef ALLIUM_FEATURE_RELAY_RELAY_PORTS_H
#define ALLIUM_FEATURE_RELAY_RELAY_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allium/lib/conf/confline.h"

/** One ORPort. */
typedef struct relay_port_t {
  int family;             /**< 4 or 6 */
  uint8_t addr[16];       /**< bind address (all zero: any); IPv4 in [0,4) */
  uint16_t port;          /**< 0 when is_auto */
  bool is_auto;           /**< "auto": the kernel picks when binding */
  bool no_listen;         /**< NoListen */
  bool no_advertise;      /**< NoAdvertise */
  bool implicit;          /**< the [::] twin of a port-only line */
} relay_port_t;

/** Most ports one line gives. */
#define RELAY_PORTS_PER_LINE 2

/** Parse one ORPort value into out[0..*n_out) (0 ports for "0").  0, or -1
 * with *errmsg (caller frees) saying what is wrong. */
int relay_port_parse_line(const char *value, relay_port_t out[RELAY_PORTS_PER_LINE],
                          size_t *n_out, char **errmsg);

typedef struct relay_ports_t {
  relay_port_t *v;
  size_t n;
} relay_ports_t;

/** Parse every ORPort line (a NULL list gives no ports) and check them
 * together.  0 (out filled; caller clears) or -1 with *errmsg. */
int relay_ports_parse(const config_line_t *lines, relay_ports_t *out,
                      char **errmsg);
void relay_ports_clear(relay_ports_t *p);
/** The advertised port of family (4 or 6), or NULL. */
const relay_port_t *relay_ports_advertised(const relay_ports_t *p, int family);

/** Our configured public addresses (Address lines). */
typedef struct relay_address_t {
  bool has_v4, has_v6;
  uint8_t v4[4];
  uint8_t v6[16];
} relay_address_t;

/** Parse the Address lines: at most one IPv4 and one IPv6 literal (a host
 * name is refused: it would need a lookup); with disable_ipv6 an IPv6
 * address is dropped.  0 or -1 with *errmsg. */
int relay_address_parse(const config_line_t *lines, bool disable_ipv6,
                        relay_address_t *out, char **errmsg);

#endif
