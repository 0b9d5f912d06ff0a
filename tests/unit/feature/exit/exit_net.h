/* exit_net.h -- (tests) the exit test network of exit_net.c: TCP servers,
 * a fake resolver, three in-process relays with an exit, a client. */
#ifndef ALLIUM_TESTS_UNIT_FEATURE_EXIT_EXIT_NET_H
#define ALLIUM_TESTS_UNIT_FEATURE_EXIT_EXIT_NET_H

#include <criterion/criterion.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/exit/exit_stream.h"

#include "core/mainloop/switch_relay.h"

extern struct event_base *BASE;
extern chanmgr_t *CM;
extern int N_LOOKUPS, N_CANCELS;
/** good.test: 127.0.0.1 (and an unwanted ::1 first); dual.test: A and
 * AAAA (127.0.0.1, ::1) as asked for; hang.test: answered after 600 s;
 * else NXDOMAIN.  PTR of 127.x: localhost.test. */
extern const exit_resolver_t FAKE;

void exit_net_setup(void);
void exit_net_teardown(void);

uint8_t pat_down(size_t i);
uint8_t pat_up(size_t i);

/* ---- the destination: a TCP server ---- */
typedef struct srv_t {
  int lfd, fd;
  uint16_t port;
  struct event *lev, *rev, *wev;
  size_t to_send, sent, rx;
  bool bad, eof, reading;
  int accepted;
} srv_t;

void srv_write(evutil_socket_t fd, short what, void *arg);
void srv_start(srv_t *s, size_t to_send, bool reading);
/** On [::1]; false (nothing started) if ::1 is not available. */
bool srv6_start(srv_t *s, size_t to_send);
void srv_resume_reading(srv_t *s);
/** Forget the connection: the server takes the next one. */
void srv_next(srv_t *s);
void srv_stop(srv_t *s);
uint16_t closed_port(void);

/* ---- the network: three relays, the last one an exit ---- */
typedef struct net_t {
  srelay_t *r[3];
  exit_t *x;
  policy_t *policy;
} net_t;

void net_start(net_t *n, const char *policy, const exit_resolver_t *res);
/** "accept6 [::1]:*, accept 127.0.0.1:*, reject *:*" built as
 * exit_policy_build() does, with IPv6Exit ipv6_exit, resolver FAKE. */
void net_start6(net_t *n, bool ipv6_exit);
exit_stats_t net_stats(net_t *n);
void net_stop(net_t *n);

/* ---- the client ---- */
typedef struct cli_t {
  uint64_t circ;
  int built, closed, connected, ended, resolved;
  uint8_t end_reason;
  cell_addr_t addr;
  uint32_t ttl;
  uint16_t sid;
  const char *target;    /* BEGIN host:port, or RESOLVE name */
  uint16_t port;
  uint32_t flags;        /* BEGIN flags (tor-spec 6.2) */
  bool resolve;
  size_t to_send;
  size_t rx;
  bool bad;
  uint8_t resolved_body[RELAY_BODY_MAX];
  size_t resolved_len;
} cli_t;

void launch(cli_t *c, net_t *n, size_t hops);
void run_until(bool (*done)(void *), void *arg, uint32_t msec);
bool ended_or_resolved(void *arg);
bool connected_or_ended(void *arg);
/** One stream to target; waits for its END (or RESOLVED). */
void one_stream(cli_t *c, net_t *n, size_t hops);
/** RESOLVE name; the decoded answer (valid until the next call). */
relay_resolved_t resolve_one(net_t *n, const char *name);

#endif
