/* relay_interop.c -- circuits through an allium relay (the cell engine,
 * started as the daemon) and a real tor relay, both on loopback, built by
 * allium's client (chanmgr): tor-spec 4 (tor as initiator against allium's
 * CERTS, allium as initiator against tor's), 5.1 CREATE2/ntor, 5.1.2
 * EXTEND2 in both directions, 5.4 DESTROY.
 *
 *   relay-interop ALLIUM_DATADIR ALLIUM_PORT TOR_DATADIR TOR_PORT
 *
 * Both relays' keys are read (never written) from their DataDirectory
 * (tor's file formats, relay_keys.h).  Builds A->T, T->A, T->A->T and
 * A->T->A (A: allium, T: tor), each bounded to 20 s, then tears them down.
 * Exit 0 when every path was built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "allium/core/cell/circ_cells.h"
#include "allium/core/mainloop/chanmgr.h"
#include "allium/feature/keys/relay_keys.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"

typedef struct path_run_t {
  int built, closed;
  chanmgr_close_info_t info;
} path_run_t;

static void
on_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  (void)cm;
  (void)circ;
  ((path_run_t *)arg)->built = 1;
}

static void
on_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
          void *arg)
{
  path_run_t *p = arg;
  (void)cm;
  (void)circ;
  p->closed = 1;
  p->info = *info;
}

static int
load_spec(circ_hop_spec_t *s, const char *datadir, const char *port)
{
  relay_keys_t *k = NULL;
  int r = relay_keys_load_or_create(datadir, 0, &k);
  if (r < 0) {
    fprintf(stderr, "cannot read the keys in %s: %s\n", datadir,
            relay_keys_strerror(r));
    return -1;
  }
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

int
main(int argc, char **argv)
{
  if (argc != 5) {
    fprintf(stderr, "usage: %s ALLIUM_DATADIR ALLIUM_PORT TOR_DATADIR "
            "TOR_PORT\n", argv[0]);
    return 2;
  }
  if (crypto_global_init() < 0)
    return 1;
  circ_hop_spec_t a, t;
  if (load_spec(&a, argv[1], argv[2]) < 0 || load_spec(&t, argv[3], argv[4]) < 0)
    return 1;
  struct event_base *base = event_base_new();
  tls_context_t *tls = tls_context_new_client();
  chanmgr_t *cm = chanmgr_new(base, tls);
  struct { const char *name; circ_hop_spec_t hops[3]; size_t n; } paths[] = {
    { "allium -> tor", { a, t }, 2 },
    { "tor -> allium", { t, a }, 2 },
    { "tor -> allium -> tor", { t, a, t }, 3 },
    { "allium -> tor -> allium", { a, t, a }, 3 },
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    path_run_t p = { 0 };
    chanmgr_circ_cbs_t cbs = { .on_built = on_built, .on_closed = on_closed,
                               .arg = &p };
    chanmgr_launch_t l = { paths[i].hops, paths[i].n, false, 20000 };
    uint64_t circ = 0, t0 = evloop_monotonic_msec();
    if (chanmgr_launch(cm, &l, &cbs, &circ) < 0) {
      printf("FAIL %s: cannot launch\n", paths[i].name);
      failures++;
      continue;
    }
    while (!p.built && !p.closed && evloop_monotonic_msec() - t0 < 22000)
      event_base_loop(base, EVLOOP_ONCE);
    if (p.built) {
      printf("ok   %s: built in %llu ms\n", paths[i].name,
             (unsigned long long)(evloop_monotonic_msec() - t0));
      chanmgr_close_circ(cm, circ, CELL_DESTROY_FINISHED);
    } else {
      printf("FAIL %s: %s (hop %u, reason %u)\n", paths[i].name,
             p.closed ? p.info.what : "timed out", p.info.failed_hop,
             p.info.reason);
      failures++;
    }
  }
  chanmgr_free(cm);
  tls_context_free(tls);
  event_base_free(base);
  return failures ? 1 : 0;
}
