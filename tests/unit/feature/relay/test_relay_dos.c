/* test_relay_dos.c -- the relay's DoS options resolved against the
 * consensus (tor(1) DENIAL OF SERVICE MITIGATION OPTIONS, param-spec 9):
 * "auto" / 0 take the consensus parameter within tor's bounds, else tor
 * 0.4.9's default; a torrc value overrides the consensus. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "allium/feature/dirparse/consensus.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/feature/relay/relay_dos.h"
#include "feature/dirparse/fixture.h"

/* A fake consensus: name=value pairs. */
typedef struct fake_t {
  const char *names[8];
  int32_t values[8];
  int n_asked;
} fake_t;

static int32_t
fake_param(void *arg, const char *name, int32_t def, int32_t min,
           int32_t max)
{
  fake_t *f = arg;
  f->n_asked++;
  for (int i = 0; i < 8 && f->names[i]; i++)
    if (!strcmp(f->names[i], name)) {
      int32_t v = f->values[i];
      return v < min ? min : v > max ? max : v;
    }
  return def;
}

Test(relay_dos, no_consensus_gives_tors_defaults)
{
  relay_dos_options_t o;
  dos_params_t p;
  relay_dos_options_default(&o);
  relay_dos_resolve(&o, NULL, NULL, &p);
  cr_assert(!p.cc_enabled && !p.conn_enabled && !p.stream_enabled);
  cr_assert(!p.refuse_single_hop_rend);
  cr_assert_eq(p.cc_rate, 3);
  cr_assert_eq(p.cc_burst, 90);
  cr_assert_eq(p.cc_min_conns, 3);
  cr_assert_eq(p.conn_max_concurrent, 100);
  cr_assert_eq(p.conn_connect_period_sec, 86400);
  cr_assert_eq(p.stream_burst, 300);
  relay_dos_resolve_nodelist(&o, NULL, &p);
  cr_assert(!p.cc_enabled);
  cr_assert_eq(p.cc_period_sec, 3600);
}

Test(relay_dos, consensus_fills_auto_and_zero)
{
  fake_t f = { { "DoSCircuitCreationEnabled", "DoSCircuitCreationRate",
                 "DoSConnectionEnabled", "DoSConnectionMaxConcurrentCount",
                 "DoSRefuseSingleHopClientRendezvous",
                 "DoSStreamCreationDefenseType",
                 "DoSCircuitCreationDefenseType", NULL },
               { 1, 7, 1, 50, 1, 3, 9 }, 0 };
  relay_dos_options_t o;
  dos_params_t p;
  relay_dos_options_default(&o);
  relay_dos_resolve(&o, fake_param, &f, &p);
  cr_assert(p.cc_enabled);
  cr_assert_eq(p.cc_rate, 7);
  cr_assert(p.conn_enabled);
  cr_assert_eq(p.conn_max_concurrent, 50);
  cr_assert(p.refuse_single_hop_rend);
  cr_assert_eq(p.stream_defense_type, 3);
  /* Out of tor's bounds in the consensus: clamped (1..2). */
  cr_assert_eq(p.cc_defense_type, 2);
  cr_assert_eq(p.cc_burst, 90);   /* absent: the default */
  cr_assert_eq(f.n_asked, 17);
}

Test(relay_dos, torrc_overrides_consensus)
{
  fake_t f = { { "DoSCircuitCreationEnabled", "DoSCircuitCreationRate",
                 "DoSConnectionEnabled", "DoSCircuitCreationBurst", NULL },
               { 1, 7, 1, 1000 }, 0 };
  relay_dos_options_t o;
  dos_params_t p;
  relay_dos_options_default(&o);
  o.cc_enabled = 0;          /* torrc: off, whatever the consensus says */
  o.conn_enabled = 1;
  o.cc_rate = 2;
  o.cc_period_sec = 60;
  o.conn_defense_type = 1;
  relay_dos_resolve(&o, fake_param, &f, &p);
  cr_assert(!p.cc_enabled);
  cr_assert(p.conn_enabled);
  cr_assert_eq(p.cc_rate, 2);
  cr_assert_eq(p.cc_burst, 1000);
  cr_assert_eq(p.cc_period_sec, 60);
  cr_assert_eq(p.conn_defense_type, 1);
}

Test(relay_dos, heartbeat_without_state_is_quiet)
{
  relay_dos_log_heartbeat(NULL);   /* no crash */
  cr_assert_eq(relay_dos_set_relays_from(NULL, NULL), 0);
}

/* The relay addresses of a real tor 0.4.9 consensus (a loopback network:
 * every relay on 127.0.0.1) become exempt; its parameters resolve. */
Test(relay_dos, relays_of_a_consensus_are_exempt)
{
  size_t len;
  char *doc = fixture_load("consensus-md.txt", &len);
  consensus_t *c = NULL;
  netdoc_err_t err;
  cr_assert_eq(consensus_parse(doc, len, &c, &err), 0);
  free(doc);
  nodelist_t *nl = nodelist_new();
  cr_assert_eq(nodelist_set_consensus(nl, c), 0);
  dos_t *d = dos_new(NULL);
  dos_addr_t lo = { 4, { 127, 0, 0, 1 } }, other = { 4, { 127, 0, 0, 5 } };
  cr_assert_not(dos_addr_is_relay(d, &lo));
  size_t n = relay_dos_set_relays_from(d, nl);
  cr_assert_geq(n, nodelist_n_nodes(nl));
  cr_assert_gt(n, 0);
  cr_assert(dos_addr_is_relay(d, &lo));
  cr_assert_not(dos_addr_is_relay(d, &other));
  cr_assert_eq(dos_conn_accept(d, &lo, 0), DOS_CONN_UNTRACKED);
  cr_assert_eq(dos_conn_accept(d, &other, 0), DOS_CONN_TRACKED);
  /* No DoS parameter in this consensus: tor's defaults. */
  relay_dos_options_t o;
  dos_params_t p;
  relay_dos_options_default(&o);
  relay_dos_resolve_nodelist(&o, nl, &p);
  cr_assert_not(p.cc_enabled);
  cr_assert_eq(p.cc_burst, 90);
  dos_free(d);
  nodelist_free(nl);
}
