/* address.h -- the textual forms of ports and IP addresses that torrc lines,
 * directory documents, relay cells and proxy requests share: a decimal port
 * (RFC 793 16-bit), an IPv4 dotted quad (RFC 791; four decimal octets, no
 * leading zeros, as inet_pton(3) AF_INET), an IPv6 address (RFC 4291 2.2),
 * and "IPv4:port" / "[IPv6]:port" (RFC 3986 3.2.2 brackets).
 *
 * Every parser takes an explicit length (the text need not be
 * NUL-terminated, and a NUL inside it is an error), writes its result only
 * on success, and returns 0 or a negative net_err_t; see net_strerror().
 */
#ifndef ALLIUM_LIB_NET_ADDRESS_H
#define ALLIUM_LIB_NET_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

/** Why a textual address or port was refused. */
typedef enum net_err_t {
  NET_OK = 0,
  NET_ERR_EMPTY = -1,     /**< no text where a port or address belongs */
  NET_ERR_PORT = -2,      /**< not decimal digits, or out of range */
  NET_ERR_IPV4 = -3,      /**< not a dotted quad */
  NET_ERR_IPV6 = -4,      /**< not an RFC 4291 address */
  NET_ERR_SYNTAX = -5,    /**< no ":port", unbalanced brackets, ... */
} net_err_t;

/** A short English description of err ("not a port", ...); never NULL. */
const char *net_strerror(int err);

/** Longest textual IPv6 address inet_pton(3) could accept, without
 * brackets (INET6_ADDRSTRLEN - 1). */
#define NET_IPV6_TEXT_MAX 45

/** Parse s[0..len) as a decimal port: digits only (no sign or blanks;
 * leading zeros allowed), min <= value <= 65535.  min is 0 where "0"
 * means "disabled", 1 where a real port is needed. */
int net_port_parse(const char *s, size_t len, unsigned min, uint16_t *out);

/** Parse s[0..len) as a dotted quad into out (network order). */
int net_ipv4_parse(const char *s, size_t len, uint8_t out[4]);

/** Parse s[0..len) (no brackets) as an IPv6 address into out. */
int net_ipv6_parse(const char *s, size_t len, uint8_t out[16]);

/** An address and a port; family 4 uses addr[0..4) and zeroes the rest. */
typedef struct net_addrport_t {
  int family;          /**< 4 or 6 */
  uint8_t addr[16];
  uint16_t port;
} net_addrport_t;

/** Which address families net_addrport_parse() accepts. */
#define NET_AP_IPV4 1
#define NET_AP_IPV6 2
#define NET_AP_ANY (NET_AP_IPV4 | NET_AP_IPV6)

/** Parse "IPv4:port" or "[IPv6]:port" from s[0..len), a port of at least
 * min_port, into *out.  families (NET_AP_*) says which forms are allowed;
 * the other is NET_ERR_SYNTAX. */
int net_addrport_parse(const char *s, size_t len, int families,
                       unsigned min_port, net_addrport_t *out);

#endif
