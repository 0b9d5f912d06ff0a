/* test_dos.c -- the relay's denial-of-service defences (dos-spec.md,
 * param-spec 9, tor(1) DoS* options) with an injected clock: token bucket
 * refill and burst, the minimum-connections threshold, defence periods and
 * their expiry, relay exemption, the bounded address map, streams and
 * single-hop rendezvous. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "allium/core/dos/dos.h"

static dos_addr_t
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
  dos_addr_t x;
  memset(&x, 0, sizeof(x));
  x.family = 4;
  x.addr[0] = a;
  x.addr[1] = b;
  x.addr[2] = c;
  x.addr[3] = d;
  return x;
}

/* Deterministic "random": always the lowest value (mark = period + 1). */
static uint64_t
rand_zero(void *arg, uint64_t max)
{
  (void)arg;
  (void)max;
  return 0;
}

static uint64_t
rand_top(void *arg, uint64_t max)
{
  (void)arg;
  return max - 1;
}

static dos_t *
cc_dos(uint32_t rate, uint32_t burst, uint32_t min_conns, uint32_t period)
{
  dos_params_t p;
  dos_params_default(&p);
  p.cc_enabled = true;
  p.cc_rate = rate;
  p.cc_burst = burst;
  p.cc_min_conns = min_conns;
  p.cc_period_sec = period;
  dos_t *d = dos_new(&p);
  dos_set_rand(d, rand_zero, NULL);
  return d;
}

Test(dos, defaults_are_tors)
{
  dos_params_t p;
  dos_params_default(&p);
  cr_assert(!p.cc_enabled && !p.conn_enabled && !p.stream_enabled);
  cr_assert(!p.refuse_single_hop_rend);
  cr_assert_eq(p.cc_min_conns, 3);
  cr_assert_eq(p.cc_rate, 3);
  cr_assert_eq(p.cc_burst, 90);
  cr_assert_eq(p.cc_defense_type, 2);
  cr_assert_eq(p.cc_period_sec, 3600);
  cr_assert_eq(p.conn_max_concurrent, 100);
  cr_assert_eq(p.conn_defense_type, 2);
  cr_assert_eq(p.conn_connect_rate, 20);
  cr_assert_eq(p.conn_connect_burst, 40);
  cr_assert_eq(p.conn_connect_period_sec, 86400);
  cr_assert_eq(p.stream_rate, 100);
  cr_assert_eq(p.stream_burst, 300);
  cr_assert_eq(p.stream_defense_type, 2);
}

Test(dos, disabled_refuses_nothing)
{
  dos_t *d = dos_new(NULL);
  dos_addr_t a = v4(10, 0, 0, 1);
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(dos_conn_accept(d, &a, 0), DOS_CONN_TRACKED);
  for (int i = 0; i < 1000; i++)
    cr_assert(dos_create_allowed(d, &a, 0));
  cr_assert_eq(dos_conn_count(d, &a), 1000);
  dos_free(d);
  cr_assert_null(d);
}

Test(dos, cc_burst_then_refuse)
{
  dos_t *d = cc_dos(3, 10, 1, 60);
  dos_addr_t a = v4(10, 0, 0, 1);
  cr_assert_eq(dos_conn_accept(d, &a, 1000), DOS_CONN_TRACKED);
  /* burst 10: the 10th empties the bucket and is refused (tor's rule). */
  for (int i = 0; i < 9; i++)
    cr_assert(dos_create_allowed(d, &a, 1000), "cell %d", i);
  cr_assert_not(dos_create_allowed(d, &a, 1000));
  cr_assert(dos_cc_is_marked(d, &a, 1000));
  /* Marked: refused even after the bucket refilled ... */
  cr_assert_not(dos_create_allowed(d, &a, 30000));
  dos_stats_t s;
  dos_get_stats(d, 30000, &s);
  cr_assert_eq(s.cc_circuits_rejected, 2);
  cr_assert_eq(s.cc_marked, 1);
  cr_assert_eq(s.n_marked_now, 1);
  /* ... until the period (60 s + 1 with rand_zero) is over. */
  cr_assert_not(dos_create_allowed(d, &a, 1000 + 61000 - 1));
  cr_assert(dos_create_allowed(d, &a, 1000 + 61000 + 5000));
  cr_assert_not(dos_cc_is_marked(d, &a, 1000 + 61000 + 5000));
  dos_free(d);
}

Test(dos, cc_refill_at_rate)
{
  dos_t *d = cc_dos(2, 4, 1, 60);
  dos_addr_t a = v4(10, 0, 0, 2);
  (void)dos_conn_accept(d, &a, 0);
  for (int i = 0; i < 3; i++)
    cr_assert(dos_create_allowed(d, &a, 0));
  /* 1 token left; after 500 ms one more (rate 2/s). */
  cr_assert(dos_create_allowed(d, &a, 500));
  /* Now 1 token: at a steady 2/s the client is never marked. */
  for (uint64_t t = 1000; t < 20000; t += 500)
    cr_assert(dos_create_allowed(d, &a, t), "at %llu",
              (unsigned long long)t);
  cr_assert_not(dos_cc_is_marked(d, &a, 20000));
  /* Faster than the rate: marked. */
  bool refused = false;
  for (int i = 0; i < 10 && !refused; i++)
    refused = !dos_create_allowed(d, &a, 20000);
  cr_assert(refused);
  dos_free(d);
}

Test(dos, cc_min_connections_threshold)
{
  dos_t *d = cc_dos(1, 5, 3, 60);
  dos_addr_t a = v4(10, 0, 0, 3);
  (void)dos_conn_accept(d, &a, 0);
  (void)dos_conn_accept(d, &a, 0);
  /* Two connections: the bucket empties but nothing is refused. */
  for (int i = 0; i < 100; i++)
    cr_assert(dos_create_allowed(d, &a, 0));
  cr_assert_not(dos_cc_is_marked(d, &a, 0));
  /* A third connection: the next CREATE on an empty bucket marks. */
  (void)dos_conn_accept(d, &a, 0);
  cr_assert_not(dos_create_allowed(d, &a, 0));
  cr_assert(dos_cc_is_marked(d, &a, 0));
  dos_free(d);
}

Test(dos, cc_defense_none_counts_only)
{
  dos_t *d = cc_dos(1, 2, 1, 60);
  dos_params_t p = *dos_get_params(d);
  p.cc_defense_type = DOS_DEFENSE_NONE;
  dos_set_params(d, &p);
  dos_addr_t a = v4(10, 0, 0, 4);
  (void)dos_conn_accept(d, &a, 0);
  for (int i = 0; i < 50; i++)
    cr_assert(dos_create_allowed(d, &a, 0));
  dos_stats_t s;
  dos_get_stats(d, 0, &s);
  cr_assert_eq(s.cc_marked, 1);
  cr_assert_eq(s.cc_circuits_rejected, 0);
  dos_free(d);
}

Test(dos, mark_period_range)
{
  dos_t *d = cc_dos(1, 1, 1, 100);
  dos_set_rand(d, rand_top, NULL);
  dos_addr_t a = v4(10, 0, 0, 5);
  (void)dos_conn_accept(d, &a, 0);
  cr_assert_not(dos_create_allowed(d, &a, 0));
  /* [period + 1, period * 3/2]: with the top draw, 150 s. */
  cr_assert(dos_cc_is_marked(d, &a, 149999));
  cr_assert_not(dos_cc_is_marked(d, &a, 150000));
  /* The real random source stays in range too. */
  dos_set_rand(d, NULL, NULL);
  for (int i = 0; i < 50; i++) {
    dos_addr_t b = v4(10, 1, 0, (uint8_t)i);
    (void)dos_conn_accept(d, &b, 0);
    cr_assert_not(dos_create_allowed(d, &b, 0));
    cr_assert(dos_cc_is_marked(d, &b, 100999));
    cr_assert_not(dos_cc_is_marked(d, &b, 150000));
  }
  dos_free(d);
}

Test(dos, conn_max_concurrent)
{
  dos_params_t p;
  dos_params_default(&p);
  p.conn_enabled = true;
  p.conn_max_concurrent = 5;
  p.conn_connect_rate = 1000;
  p.conn_connect_burst = 1000;
  dos_t *d = dos_new(&p);
  dos_addr_t a = v4(10, 0, 0, 6), b = v4(10, 0, 0, 7);
  for (int i = 0; i < 5; i++)
    cr_assert_eq(dos_conn_accept(d, &a, 0), DOS_CONN_TRACKED);
  cr_assert_eq(dos_conn_accept(d, &a, 0), DOS_CONN_REFUSED);
  cr_assert_eq(dos_conn_accept(d, &a, 0), DOS_CONN_REFUSED);
  /* Another address is not affected. */
  cr_assert_eq(dos_conn_accept(d, &b, 0), DOS_CONN_TRACKED);
  /* One closes: one more gets in. */
  dos_conn_closed(d, &a, 10);
  cr_assert_eq(dos_conn_count(d, &a), 4);
  cr_assert_eq(dos_conn_accept(d, &a, 10), DOS_CONN_TRACKED);
  cr_assert_eq(dos_conn_accept(d, &a, 10), DOS_CONN_REFUSED);
  dos_stats_t s;
  dos_get_stats(d, 10, &s);
  cr_assert_eq(s.conn_rejected, 3);
  /* Defence type 1: counted as connections, never refused. */
  p.conn_defense_type = DOS_DEFENSE_NONE;
  dos_set_params(d, &p);
  cr_assert_eq(dos_conn_accept(d, &a, 10), DOS_CONN_TRACKED);
  dos_free(d);
}

Test(dos, conn_connect_rate_marks)
{
  dos_params_t p;
  dos_params_default(&p);
  p.conn_enabled = true;
  p.conn_connect_rate = 1;
  p.conn_connect_burst = 3;
  p.conn_connect_period_sec = 10;
  dos_t *d = dos_new(&p);
  dos_set_rand(d, rand_zero, NULL);
  dos_addr_t a = v4(10, 0, 0, 8);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(dos_conn_accept(d, &a, 0), DOS_CONN_TRACKED);
    dos_conn_closed(d, &a, 0);
  }
  /* The third emptied the bucket: marked for 11 s. */
  cr_assert_eq(dos_conn_accept(d, &a, 5000), DOS_CONN_REFUSED);
  cr_assert_eq(dos_conn_accept(d, &a, 10999), DOS_CONN_REFUSED);
  cr_assert_eq(dos_conn_accept(d, &a, 11000), DOS_CONN_TRACKED);
  dos_stats_t s;
  dos_get_stats(d, 11000, &s);
  cr_assert_eq(s.conn_connect_rejected, 2);
  cr_assert_eq(s.conn_marked, 1);
  dos_free(d);
}

Test(dos, relays_are_exempt)
{
  dos_params_t p;
  dos_params_default(&p);
  p.conn_enabled = p.cc_enabled = true;
  p.conn_max_concurrent = 1;
  p.cc_min_conns = 1;
  p.cc_burst = 1;
  dos_t *d = dos_new(&p);
  dos_addr_t relay = v4(192, 0, 2, 1), client = v4(192, 0, 2, 2);
  dos_addr_t bad = { 9, { 0 } };
  cr_assert_eq(dos_set_relay_addrs(d, &bad, 1), -1);
  cr_assert_eq(dos_set_relay_addrs(d, &relay, 1), 0);
  cr_assert(dos_addr_is_relay(d, &relay));
  cr_assert_not(dos_addr_is_relay(d, &client));
  for (int i = 0; i < 10; i++)
    cr_assert_eq(dos_conn_accept(d, &relay, 0), DOS_CONN_UNTRACKED);
  for (int i = 0; i < 10; i++)
    cr_assert(dos_create_allowed(d, &relay, 0));
  cr_assert_eq(dos_conn_accept(d, &client, 0), DOS_CONN_TRACKED);
  cr_assert_eq(dos_conn_accept(d, &client, 0), DOS_CONN_REFUSED);
  dos_stats_t s;
  dos_get_stats(d, 0, &s);
  cr_assert_eq(s.n_addrs, 1);
  /* Replacing the set: the old relay is a client now. */
  cr_assert_eq(dos_set_relay_addrs(d, NULL, 0), 0);
  cr_assert_eq(dos_conn_accept(d, &relay, 0), DOS_CONN_TRACKED);
  dos_free(d);
}

Test(dos, ipv6_and_sockaddr)
{
  struct sockaddr_in6 s6;
  memset(&s6, 0, sizeof(s6));
  s6.sin6_family = AF_INET6;
  s6.sin6_addr.s6_addr[10] = s6.sin6_addr.s6_addr[11] = 0xff;
  s6.sin6_addr.s6_addr[12] = 127;
  s6.sin6_addr.s6_addr[15] = 5;
  dos_addr_t a;
  cr_assert_eq(dos_addr_from_sockaddr(&a, (struct sockaddr *)&s6), 0);
  cr_assert_eq(a.family, 4);
  cr_assert_eq(a.addr[0], 127);
  cr_assert_eq(a.addr[3], 5);
  s6.sin6_addr.s6_addr[0] = 0x20;
  cr_assert_eq(dos_addr_from_sockaddr(&a, (struct sockaddr *)&s6), 0);
  cr_assert_eq(a.family, 6);
  struct sockaddr un = { .sa_family = AF_UNIX };
  cr_assert_eq(dos_addr_from_sockaddr(&a, &un), -1);
  cr_assert_eq(dos_addr_from_sockaddr(&a, NULL), -1);
  /* A bad address is never tracked nor refused. */
  dos_t *d = dos_new(NULL);
  dos_addr_t none;
  memset(&none, 0, sizeof(none));
  cr_assert_eq(dos_conn_accept(d, &none, 0), DOS_CONN_UNTRACKED);
  cr_assert(dos_create_allowed(d, &none, 0));
  dos_free(d);
}

Test(dos, map_bounded_under_address_flood)
{
  dos_params_t p;
  dos_params_default(&p);
  p.conn_enabled = true;
  p.max_addrs = 1000;
  dos_t *d = dos_new(&p);
  /* 100 clients hold connections; a flood of 100000 one-shot addresses. */
  for (int i = 0; i < 100; i++) {
    dos_addr_t a = v4(10, 9, 0, (uint8_t)i);
    cr_assert_eq(dos_conn_accept(d, &a, 0), DOS_CONN_TRACKED);
  }
  for (uint32_t i = 0; i < 100000; i++) {
    dos_addr_t a = v4(172, 16, (uint8_t)(i >> 8), (uint8_t)i);
    a.addr[1] = (uint8_t)(16 + (i >> 16));
    if (dos_conn_accept(d, &a, i) == DOS_CONN_TRACKED)
      dos_conn_closed(d, &a, i);
    dos_stats_t s;
    if (i % 997 == 0) {
      dos_get_stats(d, i, &s);
      cr_assert_leq(s.n_addrs, 1000);
    }
  }
  dos_stats_t s;
  dos_get_stats(d, 100000, &s);
  cr_assert_leq(s.n_addrs, 1000);
  cr_assert_gt(s.addrs_evicted, 90000);
  /* The clients with connections were kept. */
  for (int i = 0; i < 100; i++) {
    dos_addr_t a = v4(10, 9, 0, (uint8_t)i);
    cr_assert_eq(dos_conn_count(d, &a), 1);
  }
  dos_free(d);
}

Test(dos, map_full_of_live_addresses_untracks)
{
  dos_params_t p;
  dos_params_default(&p);
  p.max_addrs = 10;
  dos_t *d = dos_new(&p);
  for (int i = 0; i < 10; i++) {
    dos_addr_t a = v4(10, 8, 0, (uint8_t)i);
    cr_assert_eq(dos_conn_accept(d, &a, 0), DOS_CONN_TRACKED);
  }
  dos_addr_t x = v4(10, 8, 1, 1);
  cr_assert_eq(dos_conn_accept(d, &x, 0), DOS_CONN_UNTRACKED);
  dos_stats_t s;
  dos_get_stats(d, 0, &s);
  cr_assert_eq(s.untracked, 1);
  cr_assert_eq(s.n_addrs, 10);
  dos_free(d);
}

Test(dos, idle_addresses_expire)
{
  dos_t *d = cc_dos(3, 90, 1, 60);
  dos_addr_t a = v4(10, 0, 1, 1), b = v4(10, 0, 1, 2), m = v4(10, 0, 1, 3);
  (void)dos_conn_accept(d, &a, 0);
  dos_conn_closed(d, &a, 0);
  (void)dos_conn_accept(d, &b, 0);          /* stays open */
  (void)dos_conn_accept(d, &m, 0);
  for (int i = 0; i < 100; i++)
    (void)dos_create_allowed(d, &m, 0);     /* marked for 61 s */
  dos_conn_closed(d, &m, 0);
  dos_tick(d, DOS_ADDR_IDLE_MSEC - 1);
  dos_stats_t s;
  dos_get_stats(d, DOS_ADDR_IDLE_MSEC - 1, &s);
  cr_assert_eq(s.n_addrs, 3);
  dos_tick(d, DOS_ADDR_IDLE_MSEC);
  dos_get_stats(d, DOS_ADDR_IDLE_MSEC, &s);
  /* a and m went (m's mark is over), b holds a connection. */
  cr_assert_eq(s.n_addrs, 1);
  cr_assert_eq(dos_conn_count(d, &b), 1);
  dos_free(d);
}

Test(dos, marked_address_not_expired_early)
{
  dos_t *d = cc_dos(1, 1, 1, 7200);
  dos_addr_t m = v4(10, 0, 2, 1);
  (void)dos_conn_accept(d, &m, 0);
  cr_assert_not(dos_create_allowed(d, &m, 0));
  dos_conn_closed(d, &m, 0);
  dos_tick(d, DOS_ADDR_IDLE_MSEC * 2);
  cr_assert(dos_cc_is_marked(d, &m, DOS_ADDR_IDLE_MSEC * 2));
  dos_free(d);
}

Test(dos, streams_per_circuit)
{
  dos_params_t p;
  dos_params_default(&p);
  p.stream_enabled = true;
  p.stream_rate = 1;
  p.stream_burst = 3;
  dos_t *d = dos_new(&p);
  dos_stream_bucket_t b1, b2;
  memset(&b1, 0, sizeof(b1));
  memset(&b2, 0, sizeof(b2));
  for (int i = 0; i < 3; i++)
    cr_assert_eq(dos_stream_check(d, &b1, 0), DOS_STREAM_ALLOW);
  cr_assert_eq(dos_stream_check(d, &b1, 0), DOS_STREAM_REFUSE);
  cr_assert_eq(dos_stream_check(d, &b2, 0), DOS_STREAM_ALLOW);
  cr_assert_eq(dos_stream_check(d, &b1, 1000), DOS_STREAM_ALLOW);
  cr_assert_eq(dos_stream_check(d, &b1, 1000), DOS_STREAM_REFUSE);
  p.stream_defense_type = DOS_STREAM_DEFENSE_CLOSE;
  dos_set_params(d, &p);
  cr_assert_eq(dos_stream_check(d, &b1, 1000), DOS_STREAM_CLOSE_CIRC);
  p.stream_defense_type = DOS_DEFENSE_NONE;
  dos_set_params(d, &p);
  cr_assert_eq(dos_stream_check(d, &b1, 1000), DOS_STREAM_ALLOW);
  dos_stats_t s;
  dos_get_stats(d, 1000, &s);
  cr_assert_eq(s.stream_rejected, 2);
  cr_assert_eq(s.stream_circs_closed, 1);
  cr_assert_eq(dos_stream_check(NULL, &b1, 0), DOS_STREAM_ALLOW);
  p.stream_enabled = false;
  dos_set_params(d, &p);
  for (int i = 0; i < 100; i++)
    cr_assert_eq(dos_stream_check(d, &b2, 0), DOS_STREAM_ALLOW);
  dos_free(d);
}

Test(dos, single_hop_rendezvous)
{
  dos_t *d = dos_new(NULL);
  cr_assert(dos_rend_allowed(d, true));
  dos_params_t p = *dos_get_params(d);
  p.refuse_single_hop_rend = true;
  dos_set_params(d, &p);
  cr_assert(dos_rend_allowed(d, false));
  cr_assert_not(dos_rend_allowed(d, true));
  dos_stats_t s;
  dos_get_stats(d, 0, &s);
  cr_assert_eq(s.single_hop_refused, 1);
  dos_free(d);
}

Test(dos, extreme_params_are_clamped)
{
  dos_params_t p;
  dos_params_default(&p);
  p.cc_enabled = true;
  p.cc_rate = 0;                 /* would divide by zero */
  p.cc_burst = 0;
  p.cc_min_conns = 0;
  p.cc_defense_type = 77;        /* unknown: none */
  p.cc_period_sec = UINT32_MAX;
  p.stream_defense_type = 0;
  p.max_addrs = 0;
  dos_t *d = dos_new(&p);
  const dos_params_t *q = dos_get_params(d);
  cr_assert_eq(q->cc_rate, 1);
  cr_assert_eq(q->cc_burst, 1);
  cr_assert_eq(q->cc_defense_type, DOS_DEFENSE_NONE);
  cr_assert_eq(q->stream_defense_type, DOS_DEFENSE_NONE);
  cr_assert_eq(q->max_addrs, DOS_MAX_ADDRS_DEFAULT);
  dos_addr_t a = v4(10, 0, 3, 1);
  (void)dos_conn_accept(d, &a, 0);
  for (int i = 0; i < 10; i++)
    cr_assert(dos_create_allowed(d, &a, 0));
  /* Huge rates and clock jumps do not overflow. */
  p.cc_rate = p.cc_burst = INT32_MAX;
  p.cc_defense_type = DOS_DEFENSE_REFUSE;
  dos_set_params(d, &p);
  cr_assert(dos_create_allowed(d, &a, UINT64_MAX / 2));
  cr_assert(dos_create_allowed(d, &a, UINT64_MAX / 2 - 5));  /* back */
  dos_free(d);
}

Test(dos, heartbeat_line)
{
  dos_t *d = cc_dos(1, 1, 1, 60);
  dos_addr_t a = v4(10, 0, 4, 1);
  (void)dos_conn_accept(d, &a, 0);
  (void)dos_create_allowed(d, &a, 0);
  (void)dos_create_allowed(d, &a, 0);
  char buf[512];
  dos_format_heartbeat(d, 0, buf, sizeof(buf));
  cr_assert(strstr(buf, "DoS mitigation since startup: 2 circuits rejected,"),
            "%s", buf);
  cr_assert(strstr(buf, "1 marked addresses (1 now)"), "%s", buf);
  cr_assert(strstr(buf, "[DoSConnectionEnabled disabled]"), "%s", buf);
  cr_assert_null(strstr(buf, "[DoSCircuitCreationEnabled disabled]"));
  dos_free(d);
}
