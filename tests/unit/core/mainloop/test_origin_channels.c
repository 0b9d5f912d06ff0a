/* test_origin_channels.c -- the channel and circuit manager (origin_channels.h; tor-spec
 * 2, 4, 5.1, 5.3, 5.4, 6.2, 7.3) against in-process relays (test_relay.h)
 * over real loopback TLS: 3-hop builds with a 1 MiB echo stream, channel
 * sharing, DESTROY at hop 1, build timeouts, an unreachable first hop, a
 * channel dying after the build, closing from on_built, freeing with live
 * circuits, bad arguments. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/mainloop/origin_channels.h"
#include "allium/core/stream/relay_mem.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

#include "core/mainloop/test_relay.h"

#define ECHO_LEN (1024 * 1024)

static struct event_base *BASE;
static tls_context_t *TLS;
static chanmgr_t *CM;
static struct event *POKE;

typedef struct cli_t {
  uint64_t circ;
  int n_hop_events;
  unsigned last_hop;
  int built;
  int closed;
  chanmgr_close_info_t info;
  bool close_in_built;
  bool closed_inside;       /* on_closed ran inside chanmgr_close_circ */
  bool echo;                /* open a stream on on_built */
  uint16_t sid;
  int connected;
  int ends;
  uint8_t *rx;
  size_t rx_len;
  int after_close_calls;
  bool close_on_connected;  /* chanmgr_close_circ from on_stream */
  bool use_on_data;         /* data through on_data, not DATA events */
  int data_calls;           /* on_data calls */
  int data_events;          /* RELAY_STREAM_EV_DATA events */
  size_t close_in_data_at;  /* chanmgr_close_circ from on_data (0: no) */
  struct cli_t *relaunch;   /* on_closed launches this one */
  trelay_t **relaunch_path;
} cli_t;

static int launch(cli_t *c, trelay_t **path, size_t n, uint32_t timeout);

static void poke(evutil_socket_t fd, short what, void *arg)
{
  (void)fd; (void)what; (void)arg;
}

static void setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  BASE = event_base_new();
  cr_assert_not_null(BASE);
  TLS = tls_context_new_client();
  cr_assert_not_null(TLS);
  CM = chanmgr_new(BASE, TLS);
  cr_assert_not_null(CM);
  POKE = event_new(BASE, -1, EV_PERSIST, poke, NULL);
  struct timeval tv = { 0, 20000 };
  event_add(POKE, &tv);
}

static void teardown(void)
{
  chanmgr_free(CM);
  event_free(POKE);
  tls_context_free(TLS);
  event_base_free(BASE);
}

TestSuite(chanmgr, .init = setup, .fini = teardown, .timeout = 30);

static void
run_until(const int *flag, int target, uint32_t msec)
{
  uint64_t end = evloop_monotonic_msec() + msec;
  while (*flag < target && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
}

static void
run_for(uint32_t msec)
{
  int never = 0;
  run_until(&never, 1, msec);
}

/* ---- client callbacks ---- */

static void
c_hop(chanmgr_t *cm, uint64_t circ, unsigned hop, void *arg)
{
  cli_t *c = arg;
  (void)cm;
  cr_assert_eq(circ, c->circ);
  cr_assert_eq(hop, (unsigned)c->n_hop_events, "hops in order");
  c->n_hop_events++;
  c->last_hop = hop;
}

static void
c_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  cli_t *c = arg;
  cr_assert_eq(circ, c->circ);
  cr_assert_not_null(chanmgr_streams(cm, circ));
  c->built++;
  if (c->close_in_built) {
    chanmgr_close_circ(cm, circ, CELL_DESTROY_FINISHED);
    c->closed_inside = c->closed == 1;
    cr_assert(!chanmgr_circ_alive(cm, circ));
    cr_assert_null(chanmgr_streams(cm, circ));
    return;
  }
  if (c->echo) {
    relay_streams_t *t = chanmgr_streams(cm, circ);
    uint8_t *buf = al_malloc(ECHO_LEN);
    for (size_t i = 0; i < ECHO_LEN; i++)
      buf[i] = (uint8_t)(i * 7 + (i >> 10));
    cr_assert_eq(relay_stream_begin(t, "echo.example", 7, 0, &c->sid), 0);
    cr_assert_eq(relay_stream_write(t, c->sid, buf, ECHO_LEN), 0);
    al_free(buf);
    chanmgr_flush(cm, circ);
  }
}

static void
c_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
         void *arg)
{
  cli_t *c = arg;
  cr_assert_eq(circ, c->circ);
  cr_assert_not_null(info->what);
  c->closed++;
  c->info = *info;
  cr_assert(!chanmgr_circ_alive(cm, circ));
  if (c->relaunch)
    cr_assert_eq(launch(c->relaunch, c->relaunch_path, 2, 5000), 0);
}

static void
c_stream(chanmgr_t *cm, uint64_t circ, const relay_stream_event_t *ev,
         void *arg)
{
  cli_t *c = arg;
  cr_assert_eq(circ, c->circ);
  if (c->closed)
    c->after_close_calls++;
  if (ev->type == RELAY_STREAM_EV_CONNECTED) {
    c->connected++;
    if (c->close_on_connected)
      chanmgr_close_circ(cm, circ, CELL_DESTROY_REQUESTED);
  } else if (ev->type == RELAY_STREAM_EV_DATA) {
    c->data_events++;
    cr_assert_leq(c->rx_len + ev->len, ECHO_LEN);
    if (!c->rx)
      c->rx = al_malloc(ECHO_LEN);
    memcpy(c->rx + c->rx_len, ev->data, ev->len);
    c->rx_len += ev->len;
  } else if (ev->type == RELAY_STREAM_EV_END) {
    c->ends++;
  }
}

static void
c_data(chanmgr_t *cm, uint64_t circ, uint16_t sid, const uint8_t *data,
       size_t len, void *arg)
{
  cli_t *c = arg;
  cr_assert_eq(circ, c->circ);
  cr_assert_eq(sid, c->sid);
  cr_assert_eq(c->connected, 1, "CONNECTED came first");
  if (c->closed)
    c->after_close_calls++;
  c->data_calls++;
  cr_assert_leq(c->rx_len + len, ECHO_LEN);
  if (!c->rx)
    c->rx = al_malloc(ECHO_LEN);
  memcpy(c->rx + c->rx_len, data, len);
  c->rx_len += len;
  if (c->close_in_data_at && c->rx_len >= c->close_in_data_at) {
    chanmgr_close_circ(cm, circ, CELL_DESTROY_REQUESTED);
    cr_assert(!chanmgr_circ_alive(cm, circ));
  }
}

static const chanmgr_circ_cbs_t *
cbs_for(cli_t *c)
{
  static chanmgr_circ_cbs_t cbs;
  cbs.on_hop = c_hop;
  cbs.on_built = c_built;
  cbs.on_closed = c_closed;
  cbs.on_stream = c_stream;
  cbs.on_relay_msg = NULL;
  cbs.arg = c;
  cbs.on_data = c->use_on_data ? c_data : NULL;
  return &cbs;
}

/* Launch a path of n relays (or specs) for c. */
static int
launch_specs(cli_t *c, const circ_hop_spec_t *specs, size_t n,
             uint32_t timeout)
{
  chanmgr_launch_t l = { specs, n, false, timeout };
  return chanmgr_launch(CM, &l, cbs_for(c), &c->circ);
}

static int
launch(cli_t *c, trelay_t **path, size_t n, uint32_t timeout)
{
  circ_hop_spec_t specs[CIRC_ORIGIN_MAX_HOPS];
  for (size_t i = 0; i < n; i++)
    specs[i] = *trelay_spec(path[i]);
  return launch_specs(c, specs, n, timeout);
}

static void
cli_free(cli_t *c)
{
  al_free(c->rx);
}

/* ---- tests ---- */

Test(chanmgr, three_hops_echo_one_mebibyte)
{
  trelay_t *r[3];
  cli_t c = { 0 };
  for (int i = 0; i < 3; i++)
    r[i] = trelay_new(BASE, TRELAY_OK);
  c.echo = true;
  cr_assert_eq(launch(&c, r, 3, 10000), 0);
  cr_assert_neq(c.circ, 0);
  cr_assert(chanmgr_circ_alive(CM, c.circ));
  cr_assert_eq(chanmgr_n_circuits(CM), 1);
  run_until(&c.built, 1, 5000);
  cr_assert_eq(c.built, 1, "not built (closed %d: %s)", c.closed,
               c.closed ? c.info.what : "");
  cr_assert_eq(c.n_hop_events, 3);
  uint8_t id[20];
  cr_assert_eq(chanmgr_circ_hop_id(CM, c.circ, 2, id), 0);
  cr_assert_eq(memcmp(id, trelay_spec(r[2])->rsa_id, 20), 0);
  cr_assert_eq(chanmgr_circ_hop_id(CM, c.circ, 3, id), -1);
  cr_assert_eq(circ_origin_n_hops(chanmgr_circuit(CM, c.circ)), 3);
  uint64_t end = evloop_monotonic_msec() + 15000;
  while (c.rx_len < ECHO_LEN && !c.closed && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.rx_len, ECHO_LEN, "echoed %zu", c.rx_len);
  for (size_t i = 0; i < ECHO_LEN; i++)
    if (c.rx[i] != (uint8_t)(i * 7 + (i >> 10)))
      cr_assert_fail("byte %zu differs", i);
  cr_assert_eq(trelay_n_echoed(r[2]), ECHO_LEN);
  cr_assert_eq(c.closed, 0);
  chanmgr_close_circ(CM, c.circ, CELL_DESTROY_FINISHED);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.ends, 1, "the stream ended before on_closed");
  cr_assert(c.info.was_built);
  cr_assert(!c.info.remote);
  cr_assert_eq(c.info.reason, CELL_DESTROY_FINISHED);
  cr_assert_eq(c.info.failed_hop, CIRC_HOP_NONE);
  cr_assert(!chanmgr_circ_alive(CM, c.circ));
  cr_assert_eq(chanmgr_n_circuits(CM), 0);
  chanmgr_close_circ(CM, c.circ, CELL_DESTROY_FINISHED);   /* no-op */
  cr_assert_eq(c.closed, 1);
  run_for(100);
  cr_assert_eq(c.closed, 1);
  cli_free(&c);
  for (int i = 0; i < 3; i++)
    trelay_free(r[i]);
}

Test(chanmgr, circuits_through_one_relay_share_its_channel)
{
  trelay_t *r[3];
  cli_t a = { 0 }, b = { 0 };
  for (int i = 0; i < 3; i++)
    r[i] = trelay_new(BASE, TRELAY_OK);
  trelay_t *p1[2] = { r[0], r[1] }, *p2[2] = { r[0], r[2] };
  cr_assert_eq(launch(&a, p1, 2, 10000), 0);
  run_until(&a.built, 1, 5000);
  cr_assert_eq(a.built, 1);
  cr_assert_eq(launch(&b, p2, 2, 10000), 0);
  cr_assert_neq(a.circ, b.circ);
  run_until(&b.built, 1, 5000);
  cr_assert_eq(b.built, 1);
  cr_assert_eq(chanmgr_n_channels(CM), 1);
  cr_assert_eq(chanmgr_n_circuits(CM), 2);
  cr_assert_eq(trelay_n_accepted(r[0]), 1);
  cr_assert_eq(trelay_n_creates(r[0]), 2);
  for (int i = 0; i < 3; i++)
    trelay_free(r[i]);
}

Test(chanmgr, launches_while_connecting_share_the_channel)
{
  trelay_t *r[3];
  cli_t a = { 0 }, b = { 0 };
  for (int i = 0; i < 3; i++)
    r[i] = trelay_new(BASE, TRELAY_OK);
  trelay_t *p1[3] = { r[0], r[1], r[2] }, *p2[2] = { r[0], r[2] };
  cr_assert_eq(launch(&a, p1, 3, 10000), 0);
  cr_assert_eq(launch(&b, p2, 2, 10000), 0);
  cr_assert_eq(chanmgr_n_channels(CM), 1);
  cr_assert_null(chanmgr_streams(CM, a.circ));
  run_until(&a.built, 1, 5000);
  run_until(&b.built, 1, 5000);
  cr_assert_eq(a.built, 1);
  cr_assert_eq(b.built, 1);
  cr_assert_eq(chanmgr_n_channels(CM), 1);
  cr_assert_eq(trelay_n_accepted(r[0]), 1);
  for (int i = 0; i < 3; i++)
    trelay_free(r[i]);
}

Test(chanmgr, destroy_at_hop_one)
{
  trelay_t *r[3];
  cli_t c = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_DESTROY_CREATE);
  r[2] = trelay_new(BASE, TRELAY_OK);
  cr_assert_eq(launch(&c, r, 3, 10000), 0);
  run_until(&c.closed, 1, 5000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.built, 0);
  cr_assert_eq(c.n_hop_events, 1);
  cr_assert_eq(c.info.failed_hop, 1, "failed hop %u", c.info.failed_hop);
  cr_assert(c.info.remote);
  cr_assert(!c.info.was_built);
  cr_assert(!chanmgr_circ_alive(CM, c.circ));
  cr_assert_eq(trelay_n_creates(r[2]), 0);
  run_for(100);
  cr_assert_eq(c.closed, 1);
  for (int i = 0; i < 3; i++)
    trelay_free(r[i]);
}

Test(chanmgr, silent_hop_one_times_out)
{
  trelay_t *r[2];
  cli_t c = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_SILENT);
  cr_assert_eq(launch(&c, r, 2, 300), 0);
  run_until(&c.closed, 1, 4000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.built, 0);
  cr_assert_eq(c.info.reason, CELL_DESTROY_TIMEOUT);
  cr_assert_eq(c.info.failed_hop, 1);
  cr_assert(!c.info.remote);
  cr_assert_eq(trelay_n_creates(r[1]), 1);
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

Test(chanmgr, silent_first_hop_times_out)
{
  trelay_t *r = trelay_new(BASE, TRELAY_SILENT);
  cli_t c = { 0 };
  cr_assert_eq(launch(&c, &r, 1, 300), 0);
  run_until(&c.closed, 1, 4000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.info.reason, CELL_DESTROY_TIMEOUT);
  cr_assert_eq(c.info.failed_hop, 0);
  cr_assert_eq(c.n_hop_events, 0);
  trelay_free(r);
}

/* A loopback port with nothing listening. */
static uint16_t
closed_port(void)
{
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
  close(fd);
  return ntohs(sin.sin_port);
}

Test(chanmgr, unreachable_first_hop_then_a_fresh_channel)
{
  trelay_t *r[2];
  cli_t c = { 0 }, d = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  circ_hop_spec_t specs[2] = { *trelay_spec(r[0]), *trelay_spec(r[1]) };
  specs[0].addr[0].u.ipv4.port = closed_port();
  cr_assert_eq(launch_specs(&c, specs, 2, 5000), 0);
  run_until(&c.closed, 1, 3000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.info.failed_hop, 0);
  cr_assert(!c.info.was_built);
  cr_assert_eq(c.info.reason, CELL_DESTROY_CONNECTFAILED);
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  /* Same identity, right port: a new channel, not the failed one. */
  cr_assert_eq(launch(&d, r, 2, 5000), 0);
  run_until(&d.built, 1, 5000);
  cr_assert_eq(d.built, 1, "%s", d.closed ? d.info.what : "");
  cr_assert_eq(chanmgr_n_channels(CM), 1);
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

Test(chanmgr, channel_dies_after_build)
{
  trelay_t *r[2];
  cli_t c = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  cr_assert_eq(launch(&c, r, 2, 5000), 0);
  run_until(&c.built, 1, 5000);
  cr_assert_eq(c.built, 1);
  trelay_close_channels(r[0]);
  run_until(&c.closed, 1, 3000);
  cr_assert_eq(c.closed, 1);
  cr_assert(c.info.was_built);
  cr_assert_eq(c.info.failed_hop, CIRC_HOP_NONE);
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  cr_assert_eq(chanmgr_n_circuits(CM), 0);
  run_for(1200);   /* the reaper frees the dead channel */
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

Test(chanmgr, close_from_on_built)
{
  trelay_t *r[2];
  cli_t c = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  c.close_in_built = true;
  cr_assert_eq(launch(&c, r, 2, 5000), 0);
  run_until(&c.built, 1, 5000);
  cr_assert_eq(c.built, 1);
  cr_assert(c.closed_inside, "on_closed ran inside chanmgr_close_circ");
  cr_assert_eq(c.closed, 1);
  cr_assert(c.info.was_built);
  cr_assert_eq(c.info.reason, CELL_DESTROY_FINISHED);
  run_for(1200);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.after_close_calls, 0);
  cr_assert_eq(chanmgr_n_channels(CM), 1);   /* idle, still open */
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

Test(chanmgr, free_with_live_circuits)
{
  trelay_t *r[3];
  cli_t a = { 0 }, b = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  r[2] = trelay_new(BASE, TRELAY_SILENT);
  a.echo = true;
  cr_assert_eq(launch(&a, r, 2, 5000), 0);
  run_until(&a.built, 1, 5000);
  cr_assert_eq(a.built, 1);
  cr_assert_eq(launch(&b, &r[2], 1, 0), 0);
  run_for(100);
  cr_assert_eq(chanmgr_n_circuits(CM), 2);
  chanmgr_free(CM);
  cr_assert_eq(a.closed, 0);
  cr_assert_eq(b.closed, 0);
  run_for(50);
  cli_free(&a);
  for (int i = 0; i < 3; i++)
    trelay_free(r[i]);
}

Test(chanmgr, bad_arguments)
{
  trelay_t *r = trelay_new(BASE, TRELAY_OK);
  cli_t c = { 0 };
  circ_hop_spec_t specs[CIRC_ORIGIN_MAX_HOPS + 1];
  for (size_t i = 0; i <= CIRC_ORIGIN_MAX_HOPS; i++)
    specs[i] = *trelay_spec(r);
  cr_assert_eq(launch_specs(&c, specs, 0, 0), -1);
  cr_assert_eq(launch_specs(&c, specs, CIRC_ORIGIN_MAX_HOPS + 1, 0), -1);
  chanmgr_launch_t l = { specs, 2, true, 0 };
  cr_assert_eq(chanmgr_launch(CM, &l, cbs_for(&c), &c.circ), -1);
  l.hops = NULL;
  cr_assert_eq(chanmgr_launch(CM, &l, cbs_for(&c), &c.circ), -1);
  specs[0].n_addr = 0;
  cr_assert_eq(launch_specs(&c, specs, 1, 0), -1);
  specs[0].n_addr = 1;
  specs[0].addr[0].type = RELAY_LSPEC_LEGACY_ID;
  cr_assert_eq(launch_specs(&c, specs, 1, 0), -1);
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  cr_assert_eq(chanmgr_n_circuits(CM), 0);
  cr_assert(!chanmgr_circ_alive(CM, 0));
  cr_assert_null(chanmgr_streams(CM, 12345));
  chanmgr_close_circ(CM, 12345, 0);
  cr_assert_eq(chanmgr_send(CM, 12345, 0, RELAY_DROP, 0, NULL, 0), -1);
  cr_assert_eq(c.closed, 0);
  trelay_free(r);
}

Test(chanmgr, close_from_on_stream)
{
  trelay_t *r[2];
  cli_t c = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  c.echo = true;
  c.close_on_connected = true;
  cr_assert_eq(launch(&c, r, 2, 5000), 0);
  run_until(&c.closed, 1, 5000);
  cr_assert_eq(c.built, 1);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.ends, 1);
  cr_assert_eq(c.info.reason, CELL_DESTROY_REQUESTED);
  run_for(300);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.after_close_calls, 0);
  cli_free(&c);
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

Test(chanmgr, launch_from_on_closed)
{
  trelay_t *r[2];
  cli_t c = { 0 }, d = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_DESTROY_CREATE);
  c.relaunch = &d;
  c.relaunch_path = r;
  cr_assert_eq(launch(&c, r, 2, 5000), 0);
  run_until(&c.closed, 1, 5000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.info.failed_hop, 1);
  trelay_set_mode(r[1], TRELAY_OK);
  run_until(&d.built, 1, 5000);
  cr_assert_eq(d.built, 1, "%s", d.closed ? d.info.what : "");
  cr_assert_eq(trelay_n_accepted(r[0]), 1);
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

Test(chanmgr, idle_channel_closes)
{
  trelay_t *r = trelay_new(BASE, TRELAY_OK);
  cli_t c = { 0 };
  chanmgr_set_channel_timeouts(CM, 300, 100);
  cr_assert_eq(launch(&c, &r, 1, 5000), 0);
  run_until(&c.built, 1, 5000);
  cr_assert_eq(c.built, 1);
  run_for(600);
  cr_assert_eq(chanmgr_n_channels(CM), 1, "a channel with a circuit stays");
  chanmgr_close_circ(CM, c.circ, CELL_DESTROY_FINISHED);
  uint64_t end = evloop_monotonic_msec() + 3000;
  while (chanmgr_n_channels(CM) && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(chanmgr_n_channels(CM), 0);
  trelay_free(r);
}

/* ---- MaxMemInQueues: the OOM pass ---- */

static uint64_t oom_now;
static uint64_t
oom_clock(void)
{
  return oom_now;
}

static void
queue_on(cli_t *c, uint64_t when, size_t len)
{
  relay_streams_t *t = chanmgr_streams(CM, c->circ);
  cr_assert_not_null(t);
  uint8_t buf[4096] = { 0 };
  oom_now = when;
  cr_assert_eq(relay_stream_begin(t, "echo.example", 7, 0, &c->sid), 0);
  cr_assert_leq(len, sizeof(buf));
  /* Not CONNECTED yet (the loop does not run): the bytes stay queued. */
  cr_assert_eq(relay_stream_write(t, c->sid, buf, len), 0);
}

Test(chanmgr, oom_pass_closes_the_oldest_queued_data_first)
{
  trelay_t *r = trelay_new(BASE, TRELAY_OK);
  cli_t c[3];
  memset(c, 0, sizeof(c));
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(launch(&c[i], &r, 1, 5000), 0);
    run_until(&c[i].built, 1, 5000);
    cr_assert_eq(c[i].built, 1);
  }
  relay_mem_set_clock(oom_clock);
  uint64_t base = relay_mem_total();
  relay_mem_set_limit(base + 10000);
  cr_assert_eq(chanmgr_oom_pass(CM), 0);          /* under the limit */
  queue_on(&c[2], 100, 4000);                      /* the oldest data */
  queue_on(&c[0], 200, 4000);
  queue_on(&c[1], 300, 4000);
  cr_assert(relay_mem_over_limit());
  size_t freed = chanmgr_oom_pass(CM);
  cr_assert_eq(freed, 4000);
  cr_assert_eq(c[2].closed, 1);
  cr_assert_eq(c[2].info.reason, CELL_DESTROY_RESOURCELIMIT);
  cr_assert_eq(c[2].ends, 1, "its stream ended");
  cr_assert_eq(c[0].closed, 0);
  cr_assert_eq(c[1].closed, 0);
  cr_assert_eq(relay_mem_total(), base + 8000);
  cr_assert_not(relay_mem_over_limit());
  /* Far over: several go, still oldest first (c[0] before c[1]). */
  relay_mem_set_limit(base + 1000);
  cr_assert_eq(chanmgr_oom_pass(CM), 8000);
  cr_assert_eq(c[0].closed, 1);
  cr_assert_eq(c[1].closed, 1);
  cr_assert_eq(relay_mem_total(), base);
  relay_mem_set_limit(0);
  relay_mem_set_clock(NULL);
  trelay_free(r);
}

/* Crossing the limit in a write schedules the pass from the loop. */
Test(chanmgr, oom_pass_runs_by_itself)
{
  trelay_t *r = trelay_new(BASE, TRELAY_OK);
  cli_t a = { 0 };
  cr_assert_eq(launch(&a, &r, 1, 5000), 0);
  run_until(&a.built, 1, 5000);
  cr_assert_eq(a.built, 1);
  relay_mem_set_limit(relay_mem_total() + 2000);
  queue_on(&a, 1, 3000);
  cr_assert_eq(a.closed, 0, "never freed inside the write");
  run_until(&a.closed, 1, 2000);
  cr_assert_eq(a.closed, 1);
  cr_assert_eq(a.info.reason, CELL_DESTROY_RESOURCELIMIT);
  relay_mem_set_limit(0);
  trelay_free(r);
}

/* The cell path: DATA from the cell buffer to on_data, none as events,
 * the bytes intact and in order. */
Test(chanmgr, three_hops_echo_through_on_data)
{
  trelay_t *r[3];
  cli_t c = { 0 };
  for (int i = 0; i < 3; i++)
    r[i] = trelay_new(BASE, TRELAY_OK);
  c.echo = true;
  c.use_on_data = true;
  cr_assert_eq(launch(&c, r, 3, 10000), 0);
  uint64_t end = evloop_monotonic_msec() + 15000;
  while (c.rx_len < ECHO_LEN && !c.closed && evloop_monotonic_msec() < end)
    event_base_loop(BASE, EVLOOP_ONCE);
  cr_assert_eq(c.built, 1);
  cr_assert_eq(c.connected, 1);
  cr_assert_eq(c.rx_len, ECHO_LEN, "echoed %zu", c.rx_len);
  for (size_t i = 0; i < ECHO_LEN; i++)
    if (c.rx[i] != (uint8_t)(i * 7 + (i >> 10)))
      cr_assert_fail("byte %zu differs", i);
  cr_assert_geq(c.data_calls, (int)(ECHO_LEN / RELAY_BODY_MAX));
  cr_assert_eq(c.data_events, 0, "no DATA event when on_data is set");
  chanmgr_close_circ(CM, c.circ, CELL_DESTROY_FINISHED);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.ends, 1);
  cli_free(&c);
  for (int i = 0; i < 3; i++)
    trelay_free(r[i]);
}

/* Closing the circuit from inside on_data (the circuit is still handling
 * the cell that carried the data): on_closed once, no call after it, the
 * circuit freed only later (ASan build: no use after free). */
Test(chanmgr, close_from_on_data)
{
  trelay_t *r[2];
  cli_t c = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  c.echo = true;
  c.use_on_data = true;
  c.close_in_data_at = 3 * RELAY_BODY_MAX;
  cr_assert_eq(launch(&c, r, 2, 5000), 0);
  run_until(&c.closed, 1, 10000);
  cr_assert_eq(c.built, 1);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.ends, 1);
  cr_assert_eq(c.info.reason, CELL_DESTROY_REQUESTED);
  cr_assert_geq(c.rx_len, 3 * RELAY_BODY_MAX);
  run_for(300);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(c.after_close_calls, 0);
  cr_assert_eq(chanmgr_n_circuits(CM), 0);
  cli_free(&c);
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

/* Many circuits on one channel: each found by its id, closed in a
 * scrambled order, the rest unaffected. */
Test(chanmgr, many_circuits_on_one_channel)
{
  enum { N = 24 };
  trelay_t *r[2];
  static cli_t c[N];
  memset(c, 0, sizeof(c));
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  for (int i = 0; i < N; i++)
    cr_assert_eq(launch(&c[i], r, 2, 10000), 0);
  uint64_t end = evloop_monotonic_msec() + 15000;
  int built = 0;
  while (built < N && evloop_monotonic_msec() < end) {
    event_base_loop(BASE, EVLOOP_ONCE);
    built = 0;
    for (int i = 0; i < N; i++)
      built += c[i].built;
  }
  cr_assert_eq(built, N);
  cr_assert_eq(chanmgr_n_channels(CM), 1);
  cr_assert_eq(chanmgr_n_circuits(CM), N);
  for (int k = 0; k < N; k++) {
    int i = (k * 7) % N;   /* 7 is prime to 24: every index once */
    chanmgr_close_circ(CM, c[i].circ, CELL_DESTROY_FINISHED);
    cr_assert_eq(c[i].closed, 1);
    for (int j = 0; j < N; j++)
      cr_assert_eq(chanmgr_circ_alive(CM, c[j].circ), c[j].closed == 0);
    cr_assert_eq(chanmgr_n_circuits(CM), (size_t)(N - k - 1));
  }
  run_for(100);
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

/* ---- ORCONN events (control-spec 4.1.3) and "orconn-status" ---- */

#include "allium/core/mainloop/ctlbus.h"

static char orconn_ev[16][160];
static size_t n_orconn_ev;

static void
orconn_sink(ctlev_type_t t, const char *msg, size_t len, void *arg)
{
  (void)arg;
  cr_assert_eq(t, CTLEV_ORCONN);
  if (n_orconn_ev < 16 && len < sizeof(orconn_ev[0])) {
    memcpy(orconn_ev[n_orconn_ev], msg, len);
    orconn_ev[n_orconn_ev++][len] = '\0';
  }
}

static const char *
orconn_nick(const uint8_t rsa_id[20], void *arg)
{
  (void)rsa_id;
  return arg;
}

static void
hex_id(const uint8_t id[20], char out[41])
{
  for (int i = 0; i < 20; i++)
    snprintf(out + 2 * i, 3, "%02X", id[i]);
}

Test(chanmgr, orconn_events_and_status)
{
  trelay_t *r[2];
  cli_t c = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  ctlev_set_sink(orconn_sink, NULL);
  ctlev_set_mask(1ull << CTLEV_ORCONN);
  chanmgr_set_namer(CM, orconn_nick, "guardy");
  char fp[41], want[160];
  hex_id(trelay_spec(r[0])->rsa_id, fp);
  cr_assert_eq(launch(&c, r, 2, 5000), 0);
  cr_assert_eq(n_orconn_ev, 1);
  snprintf(want, sizeof(want), "650 ORCONN $%s~guardy LAUNCHED ID=1\r\n", fp);
  cr_assert_str_eq(orconn_ev[0], want);
  char *st = chanmgr_orconn_status(CM);
  snprintf(want, sizeof(want), "$%s~guardy LAUNCHED", fp);
  cr_assert_str_eq(st, want);
  al_free(st);
  run_until(&c.built, 1, 5000);
  cr_assert_eq(c.built, 1);
  cr_assert_eq(n_orconn_ev, 2);
  snprintf(want, sizeof(want), "650 ORCONN $%s~guardy CONNECTED NCIRCS=1 "
           "ID=1\r\n", fp);
  cr_assert_str_eq(orconn_ev[1], want);
  st = chanmgr_orconn_status(CM);
  snprintf(want, sizeof(want), "$%s~guardy CONNECTED", fp);
  cr_assert_str_eq(st, want);
  al_free(st);
  /* without a nickname: "$FP" alone */
  chanmgr_set_namer(CM, NULL, NULL);
  trelay_close_channels(r[0]);
  run_until(&c.closed, 1, 3000);
  cr_assert_eq(n_orconn_ev, 3);
  snprintf(want, sizeof(want), "650 ORCONN $%s CLOSED REASON=DONE NCIRCS=1 "
           "ID=1\r\n", fp);
  cr_assert_str_eq(orconn_ev[2], want);
  st = chanmgr_orconn_status(CM);
  cr_assert_str_eq(st, "");
  al_free(st);
  ctlev_set_sink(NULL, NULL);
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}

Test(chanmgr, orconn_failed_and_quiet_without_listener)
{
  trelay_t *r[2];
  cli_t c = { 0 }, d = { 0 };
  r[0] = trelay_new(BASE, TRELAY_OK);
  r[1] = trelay_new(BASE, TRELAY_OK);
  ctlev_set_sink(orconn_sink, NULL);
  ctlev_set_mask(1ull << CTLEV_ORCONN);
  circ_hop_spec_t specs[2] = { *trelay_spec(r[0]), *trelay_spec(r[1]) };
  specs[0].addr[0].u.ipv4.port = closed_port();
  cr_assert_eq(launch_specs(&c, specs, 2, 5000), 0);
  run_until(&c.closed, 1, 3000);
  cr_assert_eq(c.closed, 1);
  cr_assert_eq(n_orconn_ev, 2, "%s", orconn_ev[0]);
  char fp[41], want[160];
  hex_id(trelay_spec(r[0])->rsa_id, fp);
  snprintf(want, sizeof(want), "650 ORCONN $%s FAILED REASON=CONNECTREFUSED "
           "NCIRCS=1 ID=1\r\n", fp);
  cr_assert_str_eq(orconn_ev[1], want);
  /* nobody listens: nothing */
  ctlev_set_mask(0);
  cr_assert_eq(launch(&d, r, 2, 5000), 0);
  run_until(&d.built, 1, 5000);
  cr_assert_eq(d.built, 1);
  cr_assert_eq(n_orconn_ev, 2);
  ctlev_set_sink(NULL, NULL);
  for (int i = 0; i < 2; i++)
    trelay_free(r[i]);
}
