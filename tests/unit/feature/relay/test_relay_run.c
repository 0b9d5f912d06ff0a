/* test_relay_run.c -- the relay runtime (src/feature/relay/relay_run.c,
 * relay_listen.c) over loopback: keys made in a temporary DataDirectory,
 * an "auto" ORPort bound and accepting, a client (chanmgr) completing the
 * link handshake against the CERTS the runtime built from those keys
 * (tor-spec 4.2: types 2, 4, 5, 7) and a 1-hop circuit; onion-key
 * rotation at run time (the previous ntor key still answered, on the
 * worker threads); link-key renewal on a worker thread; a port in use is a clean error; the heartbeat line's
 * wording. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/mainloop/origin_channels.h"
#include "allium/feature/relay/relay_run.h"
#include "allium/lib/crypto/crypto_util.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"

static char DIR_[64];
static relay_keys_t *KEYS;

static void
setup(void)
{
  cr_assert_eq(crypto_global_init(), 0);
  cr_assert_eq(evloop_init(), 0);
  snprintf(DIR_, sizeof(DIR_), "/tmp/allium-relayrun.XXXXXX");
  cr_assert_not_null(mkdtemp(DIR_));
  cr_assert_eq(relay_keys_load_or_create(DIR_, 1, &KEYS), 0);
}

static void
teardown(void)
{
  char cmd[128];
  relay_keys_free(KEYS);
  evloop_shutdown();
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", DIR_);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(relay_run, .init = setup, .fini = teardown, .timeout = 60);

static config_line_t *
line(const char *key, const char *v)
{
  config_line_t *l = al_calloc(1, sizeof(*l));
  l->key = al_strdup(key);
  l->value = al_strdup(v);
  return l;
}

static void
line_free(config_line_t *l)
{
  al_free(l->key);
  al_free(l->value);
  al_free(l);
}

static int built, closed;

static void
c_built(chanmgr_t *cm, uint64_t circ, void *arg)
{
  (void)cm; (void)circ; (void)arg;
  built++;
}

static void
c_closed(chanmgr_t *cm, uint64_t circ, const chanmgr_close_info_t *info,
         void *arg)
{
  (void)cm; (void)circ; (void)info; (void)arg;
  closed++;
}

/* A client (chanmgr) builds a one-hop circuit to rr's ORPort: a full link
 * handshake against rr's current link certificates.  1 when built. */
static int
build_one_hop(relay_run_t *rr)
{
  const relay_ports_t *ps = relay_run_ports(rr);
  circ_hop_spec_t spec;
  memset(&spec, 0, sizeof(spec));
  memcpy(spec.rsa_id, relay_keys_identity_digest(KEYS), 20);
  memcpy(spec.ed_id, relay_keys_master_public(KEYS)->pubkey, 32);
  spec.has_ed_id = true;
  memcpy(spec.ntor_key, relay_keys_onion_ntor(KEYS)->pub, 32);
  spec.n_addr = 1;
  spec.addr[0].type = RELAY_LSPEC_IPV4;
  spec.addr[0].len = 6;
  memcpy(spec.addr[0].u.ipv4.addr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
  spec.addr[0].u.ipv4.port = ps->v[0].port;

  tls_context_t *tls = tls_context_new_client();
  chanmgr_t *cm = chanmgr_new(evloop_base(), tls);
  chanmgr_circ_cbs_t cbs = { .on_built = c_built, .on_closed = c_closed };
  chanmgr_launch_t l = { &spec, 1, false, 10000 };
  uint64_t circ;
  built = closed = 0;
  cr_assert_eq(chanmgr_launch(cm, &l, &cbs, &circ), 0);
  uint64_t end = evloop_monotonic_msec() + 10000;
  while (!built && !closed && evloop_monotonic_msec() < end)
    event_base_loop(evloop_base(), EVLOOP_ONCE);
  int ok = built == 1;
  chanmgr_free(cm);
  tls_context_free(tls);
  return ok;
}

static relay_run_t *
start_relay(const char *nick)
{
  config_line_t *orport = line("ORPort", "127.0.0.1:auto");
  relay_run_config_t cfg = { .orport = orport, .nickname = nick,
                             .heartbeat_sec = 1, .assume_reachable = true,
                             .keys = KEYS };
  char *err = NULL;
  relay_run_t *rr = relay_run_new(evloop_base(), &cfg, &err);
  cr_assert_not_null(rr, "relay_run_new: %s", err ? err : "");
  line_free(orport);
  cr_assert_eq(relay_run_start(rr), 0);
  return rr;
}

Test(relay_run, auto_orport_serves_a_circuit)
{
  relay_run_t *rr = start_relay("runtest");
  const relay_ports_t *ps = relay_run_ports(rr);
  cr_assert_eq(ps->n, 1);
  cr_assert_neq(ps->v[0].port, 0, "the auto port was not filled in");
  cr_assert_geq(relay_run_n_workers(rr), 1);
  cr_assert(build_one_hop(rr), "the circuit was not built");
  cellswitch_stats_t s;
  cellswitch_get_stats(relay_run_switch(rr), &s);
  cr_assert_eq(s.n_circuits, 1);
  cr_assert_eq(s.circuits_created, 1);
  /* Let a heartbeat run (1 s period). */
  uint64_t end = evloop_monotonic_msec() + 1300;
  while (evloop_monotonic_msec() < end)
    event_base_loop(evloop_base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
  relay_run_free(rr);
  cr_assert_null(rr);
}

/* Link credentials renewed on the worker thread: one renewal at a time,
 * installed on the loop, and a new client completes the link handshake
 * against the new TLS key and certificates. */
Test(relay_run, link_keys_renewed_off_the_loop)
{
  relay_run_t *rr = start_relay("linkrot");
  cr_assert(build_one_hop(rr), "no circuit before the renewal");
  cr_assert_eq(relay_run_link_rotations(rr), 0);
  cr_assert_eq(relay_run_rotate_link_now(rr), 0);
  cr_assert_eq(relay_run_rotate_link_now(rr), 0);   /* already under way */
  cr_assert_eq(relay_run_link_rotations(rr), 0, "installed synchronously");
  uint64_t end = evloop_monotonic_msec() + 30000;
  while (relay_run_link_rotations(rr) == 0 && evloop_monotonic_msec() < end)
    event_base_loop(evloop_base(), EVLOOP_ONCE);
  cr_assert_eq(relay_run_link_rotations(rr), 1);
  cr_assert(build_one_hop(rr), "no circuit after the renewal");
  /* A renewal still running when the relay stops is discarded cleanly. */
  cr_assert_eq(relay_run_rotate_link_now(rr), 0);
  relay_run_free(rr);
  cr_assert_null(rr);
}

Test(relay_run, port_in_use_is_an_error)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin;
  socklen_t slen = sizeof(sin);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  cr_assert_eq(listen(fd, 1), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
  char v[64];
  snprintf(v, sizeof(v), "127.0.0.1:%u", ntohs(sin.sin_port));
  config_line_t *orport = line("ORPort", v);
  relay_run_config_t cfg = { .orport = orport, .keys = KEYS };
  char *err = NULL;
  relay_run_t *rr = relay_run_new(evloop_base(), &cfg, &err);
  cr_assert_null(rr);
  cr_assert_not_null(err);
  cr_assert(strstr(err, "Could not bind"), "message: %s", err);
  al_free(err);
  line_free(orport);
  close(fd);
  /* And a bad option value. */
  orport = line("ORPort", "9001 Sideways");
  cfg.orport = orport;
  err = NULL;
  cr_assert_null(relay_run_new(evloop_base(), &cfg, &err));
  cr_assert(strstr(err, "Sideways"), "message: %s", err);
  al_free(err);
  line_free(orport);
  /* No ORPort at all. */
  cfg.orport = NULL;
  err = NULL;
  cr_assert_null(relay_run_new(evloop_base(), &cfg, &err));
  al_free(err);
}

Test(relay_run, heartbeat_wording)
{
  char buf[256];
  relay_run_format_heartbeat(buf, sizeof(buf), 3 * 3600 + 5 * 60, 12,
                             5000000, 1230000);
  cr_assert_str_eq(buf, "Heartbeat: allium's uptime is 3:05 hours, with 12 "
                   "circuits open. I've sent 5.00 MB and received 1.23 MB.");
  relay_run_format_heartbeat(buf, sizeof(buf), 86400 + 60, 1, 0, 0);
  cr_assert_str_eq(buf, "Heartbeat: allium's uptime is 1 day 0:01 hours, "
                   "with 1 circuit open. I've sent 0.00 MB and received "
                   "0.00 MB.");
}

Test(relay_run, several_orport_lines)
{
  config_line_t *a = line("ORPort", "127.0.0.1:auto NoAdvertise");
  config_line_t *b = line("ORPort", "192.0.2.1:443 NoListen");
  config_line_t *addr = line("Address", "192.0.2.1");
  a->next = b;
  relay_run_config_t cfg = { .orport = a, .address = addr, .keys = KEYS };
  char *err = NULL;
  relay_run_t *rr = relay_run_new(evloop_base(), &cfg, &err);
  cr_assert_not_null(rr, "relay_run_new: %s", err ? err : "");
  const relay_ports_t *ps = relay_run_ports(rr);
  cr_assert_eq(ps->n, 2);
  cr_assert_neq(ps->v[0].port, 0);
  const relay_port_t *adv = relay_ports_advertised(ps, 4);
  cr_assert_not_null(adv);
  cr_assert_eq(adv->port, 443);
  cr_assert_null(relay_ports_advertised(ps, 6));
  cr_assert(relay_run_address(rr)->has_v4);
  cr_assert_eq(relay_run_address(rr)->v4[3], 1);
  relay_run_free(rr);
  line_free(a);
  line_free(b);
  line_free(addr);
}

/* One 1-hop circuit to the relay on port with onion key ntor: 1 if built,
 * 0 if refused. */
static int
try_circuit(chanmgr_t *cm, uint16_t port, const uint8_t ntor[32])
{
  circ_hop_spec_t spec;
  memset(&spec, 0, sizeof(spec));
  memcpy(spec.rsa_id, relay_keys_identity_digest(KEYS), 20);
  memcpy(spec.ed_id, relay_keys_master_public(KEYS)->pubkey, 32);
  spec.has_ed_id = true;
  memcpy(spec.ntor_key, ntor, 32);
  spec.n_addr = 1;
  spec.addr[0].type = RELAY_LSPEC_IPV4;
  spec.addr[0].len = 6;
  memcpy(spec.addr[0].u.ipv4.addr, (uint8_t[]){ 127, 0, 0, 1 }, 4);
  spec.addr[0].u.ipv4.port = port;
  chanmgr_circ_cbs_t cbs = { .on_built = c_built, .on_closed = c_closed };
  chanmgr_launch_t l = { &spec, 1, false, 10000 };
  uint64_t circ;
  built = closed = 0;
  cr_assert_eq(chanmgr_launch(cm, &l, &cbs, &circ), 0);
  uint64_t end = evloop_monotonic_msec() + 10000;
  while (!built && !closed && evloop_monotonic_msec() < end)
    event_base_loop(evloop_base(), EVLOOP_ONCE);
  cr_assert(built || closed, "no answer");
  return built;
}

/* Onion-key rotation at run time: after relay_run_keys_changed() the new
 * ntor key answers (on the worker threads) and the previous one, read
 * from DataDirectory/keys/secret_onion_key_ntor.old, still does; a key
 * that was never ours is refused. */
Test(relay_run, rotated_onion_keys_answer_old_and_new)
{
  config_line_t *orport = line("ORPort", "127.0.0.1:auto");
  relay_run_config_t cfg = { .orport = orport, .nickname = "rotatetest",
                             .assume_reachable = true, .num_cpus = 2,
                             .keys = KEYS, .datadir = DIR_ };
  char *err = NULL;
  relay_run_t *rr = relay_run_new(evloop_base(), &cfg, &err);
  cr_assert_not_null(rr, "relay_run_new: %s", err ? err : "");
  line_free(orport);
  cr_assert_eq(relay_run_start(rr), 0);
  cr_assert_eq(relay_run_n_workers(rr), 2);
  uint16_t port = relay_run_ports(rr)->v[0].port;
  uint8_t old_pub[32], bogus[32];
  memcpy(old_pub, relay_keys_onion_ntor(KEYS)->pub, 32);
  tls_context_t *tls = tls_context_new_client();
  chanmgr_t *cm = chanmgr_new(evloop_base(), tls);
  cr_assert_eq(try_circuit(cm, port, old_pub), 1);

  int rotated = 0;
  /* "Now" a little later, so a 1-second lifetime has passed. */
  cr_assert_eq(relay_keys_rotate_onion_keys(DIR_, time(NULL) + 10, 1,
                                            RELAY_KEYS_ONION_GRACE,
                                            &rotated), 0);
  cr_assert_eq(rotated, 1);
  relay_keys_t *k2 = NULL;
  cr_assert_eq(relay_keys_load_or_create(DIR_, 0, &k2), 0);
  cr_assert_neq(memcmp(relay_keys_onion_ntor(k2)->pub, old_pub, 32), 0);
  relay_run_keys_changed(rr, k2);
  cr_assert_eq(try_circuit(cm, port, relay_keys_onion_ntor(k2)->pub), 1,
               "the new onion key is refused");
  cr_assert_eq(try_circuit(cm, port, old_pub), 1,
               "the previous onion key is refused");
  memset(bogus, 0x42, sizeof(bogus));
  cr_assert_eq(try_circuit(cm, port, bogus), 0);
  cellswitch_stats_t s;
  cellswitch_get_stats(relay_run_switch(rr), &s);
  cr_assert_eq(s.circuits_created, 3);
  cr_assert_eq(s.creates_refused, 1);
  chanmgr_free(cm);
  tls_context_free(tls);
  relay_run_free(rr);
  relay_keys_free(k2);
}
