/* relay_cellrate.c -- how many relay cells per second a middle relay
 * running allium's cell engine forwards, and its CPU time per cell: builds
 * client -> M -> E (tor-spec 5.1 CREATE2, 5.1.2 EXTEND2) over its own
 * channel, then streams RELAY_DROP cells (6.1: no window applies) to E for
 * the given seconds, keeping at most 1 MiB in its own output buffer, and
 * reads M's CPU time from /proc before and after.
 *
 *   relay-cellrate M_DATADIR M_PORT M_PID E_DATADIR E_PORT SECONDS
 *
 * Prints one line: cells, seconds, cells/s, MiB/s (509-byte payloads), M's
 * CPU seconds and CPU microseconds per cell.  Exit 0, or 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/cell/relay_cell.h"
#include "allium/core/channel/channel.h"
#include "allium/core/circuit/circuit_origin.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"

typedef struct run_t {
  channel_t *ch;
  circ_origin_t *c;
  uint32_t id;
  int open, closed, hops;
} run_t;

static void
on_open(channel_t *ch, void *arg)
{
  (void)ch;
  ((run_t *)arg)->open = 1;
}

static void
on_cell(channel_t *ch, const cell_t *cell, void *arg)
{
  run_t *r = arg;
  circ_event_t ev;
  (void)ch;
  if (cell->circ_id != r->id || cell->payload_len != CELL_PAYLOAD_LEN)
    return;
  circ_origin_handle_cell(r->c, cell->command, cell->payload);
  while (circ_origin_next_event(r->c, &ev) == 1) {
    if (ev.type == CIRC_EV_HOP_ADDED)
      r->hops++;
    else if (ev.type == CIRC_EV_CLOSED)
      r->closed = 1;
  }
}

static void
on_close(channel_t *ch, int reason, const char *why, void *arg)
{
  (void)ch;
  (void)reason;
  (void)why;
  ((run_t *)arg)->closed = 1;
}

static void
flush_cells(run_t *r)
{
  circ_cell_t cc;
  while (circ_origin_next_cell(r->c, &cc) == 1)
    channel_send_fixed(r->ch, r->id, cc.command, cc.payload);
}

static int
load_spec(circ_hop_spec_t *s, const char *datadir, const char *port)
{
  relay_keys_t *k = NULL;
  if (relay_keys_load_or_create(datadir, 0, &k) < 0)
    return -1;
  memset(s, 0, sizeof(*s));
  memcpy(s->rsa_id, relay_keys_identity_digest(k), 20);
  memcpy(s->ed_id, relay_keys_master_public(k)->pubkey, 32);
  s->has_ed_id = true;
  memcpy(s->ntor_key, relay_keys_onion_ntor(k)->pub, 32);
  s->n_addr = 1;
  s->addr[0].type = RELAY_LSPEC_IPV4;
  s->addr[0].len = 6;
  s->addr[0].u.ipv4.addr[0] = 127;
  s->addr[0].u.ipv4.addr[3] = 1;
  s->addr[0].u.ipv4.port = (uint16_t)atoi(port);
  relay_keys_free(k);
  return 0;
}

/* utime + stime of pid in seconds. */
static double
cpu_seconds(const char *pid)
{
  char path[64], buf[2048];
  snprintf(path, sizeof(path), "/proc/%s/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int
wait_for(struct event_base *base, run_t *r, const int *flag, int want)
{
  uint64_t end = evloop_monotonic_msec() + 10000;
  while (*flag < want && !r->closed && evloop_monotonic_msec() < end)
    event_base_loop(base, EVLOOP_ONCE);
  return *flag >= want ? 0 : -1;
}

int
main(int argc, char **argv)
{
  circ_hop_spec_t m, e;
  run_t r = { 0 };
  if (argc != 7) {
    fprintf(stderr, "usage: %s M_DATADIR M_PORT M_PID E_DATADIR E_PORT "
            "SECONDS\n", argv[0]);
    return 2;
  }
  if (crypto_global_init() < 0 || load_spec(&m, argv[1], argv[2]) < 0 ||
      load_spec(&e, argv[4], argv[5]) < 0)
    return 1;
  struct event_base *base = event_base_new();
  tls_context_t *tls = tls_context_new_client();
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons((uint16_t)atoi(argv[2]));
  channel_target_t t = { (struct sockaddr *)&sin, sizeof(sin), m.rsa_id, NULL };
  channel_callbacks_t cbs = { on_open, on_cell, on_close, &r };
  r.ch = channel_connect(base, tls, &t, &cbs);
  if (!r.ch || wait_for(base, &r, &r.open, 1) < 0) {
    fprintf(stderr, "no channel to M\n");
    return 1;
  }
  r.c = circ_origin_new();
  circid_set_alloc(channel_circids(r.ch), &r.id);
  circ_origin_start(r.c, &m, evloop_monotonic_msec(), 0);
  flush_cells(&r);
  if (wait_for(base, &r, &r.hops, 1) < 0 || circ_origin_extend(r.c, &e) < 0) {
    fprintf(stderr, "CREATE2 to M failed\n");
    return 1;
  }
  flush_cells(&r);
  if (wait_for(base, &r, &r.hops, 2) < 0) {
    fprintf(stderr, "EXTEND2 to E failed\n");
    return 1;
  }
  circ_origin_build_done(r.c);
  double secs = atof(argv[6]), cpu0 = cpu_seconds(argv[3]);
  uint64_t t0 = evloop_monotonic_msec(), cells = 0;
  uint8_t body[RELAY_BODY_MAX];
  memset(body, 0x5a, sizeof(body));
  while (!r.closed && evloop_monotonic_msec() - t0 < (uint64_t)(secs * 1000)) {
    while (channel_outbuf_len(r.ch) < (1u << 20)) {
      circ_origin_send(r.c, 1, RELAY_DROP, 0, body, sizeof(body));
      flush_cells(&r);
      cells++;
    }
    event_base_loop(base, EVLOOP_ONCE);
  }
  /* Let the relays catch up with what is buffered before reading M's CPU. */
  uint64_t t_end = evloop_monotonic_msec();
  while (channel_outbuf_len(r.ch) > 0 && evloop_monotonic_msec() - t_end < 5000)
    event_base_loop(base, EVLOOP_ONCE);
  usleep(300000);
  double el = (double)(evloop_monotonic_msec() - t0) / 1000.0;
  double cpu = cpu_seconds(argv[3]) - cpu0;
  printf("cells %llu in %.2f s: %.0f cells/s, %.1f MiB/s of payload; middle "
         "relay CPU %.2f s, %.2f us/cell, %.3f CPU-s per MiB\n",
         (unsigned long long)cells, el, cells / el,
         cells * 509.0 / el / 1048576.0, cpu, cpu * 1e6 / (double)cells,
         cpu / (cells * 509.0 / 1048576.0));
  int failed = r.closed;
  channel_close(r.ch, CHANNEL_CLOSE_REQUESTED);
  channel_free(r.ch);
  circ_origin_free(r.c);
  tls_context_free(tls);
  event_base_free(base);
  return failed ? 1 : 0;
}
