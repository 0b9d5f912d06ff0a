/* test_relay_publish.c -- the relay's directory presence
 * (src/feature/relay/relay_publish.c): MyFamily parsing (well-formed,
 * malformed, truncated, oversized, duplicates, our own fingerprint), the
 * observed-bandwidth history (dir-spec 2.1.1 "bandwidth": the largest
 * 10-second average over a day, the smaller of read and written), and the
 * descriptor parameters a running relay builds and signs from its
 * options (router_desc.h). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allium/feature/dirparse/routerdesc.h"
#include "allium/feature/relay/relay_publish.h"
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
  snprintf(DIR_, sizeof(DIR_), "/tmp/allium-relaypub.XXXXXX");
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

TestSuite(relay_publish, .init = setup, .fini = teardown, .timeout = 60);

static config_line_t *
line(const char *key, const char *v, config_line_t *next)
{
  config_line_t *l = al_calloc(1, sizeof(*l));
  l->key = al_strdup(key);
  l->value = al_strdup(v);
  l->next = next;
  return l;
}

static void
lines_free(config_line_t *l)
{
  while (l) {
    config_line_t *n = l->next;
    al_free(l->key);
    al_free(l->value);
    al_free(l);
    l = n;
  }
}

#define FPA "0123456789abcdef0123456789ABCDEF01234567"
#define FPA_UP "$0123456789ABCDEF0123456789ABCDEF01234567"
#define FPB "$FEDCBA9876543210FEDCBA9876543210FEDCBA98"

Test(relay_publish, family_normalised)
{
  config_line_t *l = line("MyFamily", "$" FPA "~friend, " FPB ",alliumfriend",
                          line("MyFamily", "  " FPA " " FPB "=x  ,,", NULL));
  char **v = NULL, *err = NULL;
  size_t n = 0;
  cr_assert_eq(relay_publish_family_parse(l, NULL, &v, &n, &err), 0, "%s", err ? err : "");
  cr_assert_eq(n, 3);
  cr_assert_str_eq(v[0], FPA_UP);
  cr_assert_str_eq(v[1], FPB);
  cr_assert_str_eq(v[2], "alliumfriend");
  relay_publish_family_free(v, n);
  lines_free(l);
}

Test(relay_publish, family_drops_self_and_empty)
{
  config_line_t *l = line("MyFamily", FPA, line("MyFamily", "", NULL));
  char **v = NULL, *err = NULL;
  size_t n = 9;
  cr_assert_eq(relay_publish_family_parse(l, FPA_UP + 1, &v, &n, &err), 0);
  cr_assert_eq(n, 0);
  relay_publish_family_free(v, n);
  cr_assert_eq(relay_publish_family_parse(NULL, NULL, &v, &n, &err), 0);
  cr_assert_eq(n, 0);
  lines_free(l);
}

Test(relay_publish, family_malformed)
{
  static const char *const bad[] = {
    "$0123",                                        /* truncated */
    "$" FPA "0",                                    /* one digit too many */
    "$" FPA "~",                                    /* empty nickname */
    "$" FPA "~bad!nick",
    "$g123456789abcdef0123456789ABCDEF01234567",    /* not hex */
    "nick!",
    "averyveryverylongnickname",                    /* > 19 characters */
    "$alliumfriend",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    config_line_t *l = line("MyFamily", bad[i], NULL);
    char **v = (char **)1, *err = NULL;
    size_t n = 7;
    cr_assert_eq(relay_publish_family_parse(l, NULL, &v, &n, &err), -1, "accepted %s", bad[i]);
    cr_assert_not_null(err);
    cr_assert_null(v);
    cr_assert_eq(n, 0);
    al_free(err);
    lines_free(l);
  }
}

Test(relay_publish, family_too_many)
{
  size_t cap = (ROUTER_DESC_MAX_FAMILY + 1) * 20 + 1, len = 0;
  char *s = al_calloc(1, cap);
  for (int i = 0; i <= ROUTER_DESC_MAX_FAMILY; i++)
    len += (size_t)snprintf(s + len, cap - len, "n%d,", i);
  config_line_t *l = line("MyFamily", s, NULL);
  char **v = NULL, *err = NULL;
  size_t n = 0;
  cr_assert_eq(relay_publish_family_parse(l, NULL, &v, &n, &err), -1);
  cr_assert_not_null(strstr(err, "more than"));
  al_free(err);
  lines_free(l);
  al_free(s);
}

Test(relay_publish, bandwidth_history)
{
  relay_bw_hist_t h;
  memset(&h, 0, sizeof(h));
  cr_assert_eq(relay_bw_hist_observed(&h), 0);
  relay_bw_hist_add(&h, 1000, 5000);
  relay_bw_hist_add(&h, 3000, 2000);
  cr_assert_eq(relay_bw_hist_observed(&h), 3000, "min(max read 3000, max write 5000)");
  /* A day of quiet samples pushes the busy hour out. */
  for (int i = 0; i < RELAY_PUBLISH_BW_HOURS * 360; i++)
    relay_bw_hist_add(&h, 10, 20);
  cr_assert_eq(relay_bw_hist_observed(&h), 10);
  /* ... but 23 hours are not enough. */
  relay_bw_hist_add(&h, 9000, 9000);
  for (int i = 0; i < (RELAY_PUBLISH_BW_HOURS - 1) * 360; i++)
    relay_bw_hist_add(&h, 1, 1);
  cr_assert_eq(relay_bw_hist_observed(&h), 9000);
}

/* A relay on an "auto" loopback ORPort with publisher options. */
static relay_run_t *
relay_with(const char *orport, const char *address, relay_publish_cfg_t *pc,
           relay_publish_t **pub, char **err)
{
  config_line_t *o = line("ORPort", orport, NULL);
  config_line_t *a = address ? line("Address", address, NULL) : NULL;
  relay_run_config_t cfg = { .orport = o, .address = a, .nickname = "pubtest",
                             .assume_reachable = true, .keys = KEYS };
  relay_run_t *rr = relay_run_new(evloop_base(), &cfg, err);
  static dir_authority_t auth = { .nickname = "auth", .ipv4 = { 127, 0, 0, 1 },
                                  .dirport = 9, .orport = 9, .has_v3ident = true };
  if (!pc->n_auths) {
    pc->auths = &auth;
    pc->n_auths = 1;
  }
  lines_free(o);
  lines_free(a);
  cr_assert_not_null(rr, "relay_run_new: %s", *err ? *err : "");
  *pub = relay_publish_new(rr, evloop_base(), pc, err);
  return rr;
}

Test(relay_publish, descriptor_from_the_runtime)
{
  config_line_t *fam = line("MyFamily", FPB, NULL);
  relay_publish_cfg_t pc = { .dir_cache = true, .publish = true, .contact = "op <op AT example>",
                             .family = fam, .bw_rate = 5000000, .bw_burst = 1000 };
  relay_publish_t *pub = NULL;
  char *err = NULL;
  relay_run_t *rr = relay_with("127.0.0.1:auto", "127.0.0.1", &pc, &pub, &err);
  lines_free(fam);
  cr_assert_not_null(pub, "%s", err ? err : "");
  cr_assert_not_null(relay_publish_dir_boot(pub));
  cr_assert_not_null(relay_publish_nodelist(pub));
  router_desc_params_t p;
  cr_assert_eq(relay_publish_fill_params(pub, time(NULL), &p), 0);
  cr_assert_eq(p.orport, relay_run_ports(rr)->v[0].port);
  cr_assert_eq(memcmp(p.ipv4, (uint8_t[]){ 127, 0, 0, 1 }, 4), 0);
  cr_assert_eq(p.bw_avg, 5000000);
  cr_assert_eq(p.bw_burst, 5000000, "burst raised to the rate");
  cr_assert(p.tunnelled_dir_server);
  cr_assert(p.hidden_service_dir, "a directory cache is an HSDir");
  char *desc = NULL;
  size_t len = 0;
  cr_assert_eq(router_desc_build(&p, &desc, &len), 0);
  cr_assert_eq(strncmp(desc, "router pubtest 127.0.0.1 ", 25), 0);
  cr_assert_not_null(strstr(desc, "\ncontact op <op AT example>\n"));
  cr_assert_not_null(strstr(desc, "\nfamily " FPB "\n"));
  cr_assert_not_null(strstr(desc, "\ntunnelled-dir-server\n"));
  cr_assert_not_null(strstr(desc, "\nbandwidth 5000000 5000000 0\n"));
  cr_assert_not_null(strstr(desc, "DirCache=2"));
  cr_assert_not_null(strstr(desc, "\nhidden-service-dir\n"));
  cr_assert_not_null(strstr(desc, " HSDir=2 "));
  routerdesc_t *rd = NULL;
  netdoc_err_t nerr;
  cr_assert_eq(routerdesc_parse(desc, len, &rd, &nerr), 0, "our own descriptor does not parse");
  routerdesc_free(rd);
  al_free(desc);
  relay_run_set_publisher(rr, pub);
  cr_assert_eq(relay_run_dir_boot(rr), relay_publish_dir_boot(pub));
  relay_run_free(rr);
}

Test(relay_publish, no_address_no_descriptor)
{
  relay_publish_cfg_t pc = { .publish = true };
  relay_publish_t *pub = NULL;
  char *err = NULL;
  relay_run_t *rr = relay_with("auto", NULL, &pc, &pub, &err);
  cr_assert_not_null(pub);
  router_desc_params_t p;
  cr_assert_eq(relay_publish_fill_params(pub, time(NULL), &p), -1);
  cr_assert_eq(p.bw_avg, 0);
  relay_publish_free(pub);
  relay_run_free(rr);
}

Test(relay_publish, bad_options_refused)
{
  config_line_t *fam = line("MyFamily", "$0123", NULL);
  relay_publish_cfg_t pc = { .family = fam };
  relay_publish_t *pub = NULL;
  char *err = NULL;
  relay_run_t *rr = relay_with("127.0.0.1:auto", NULL, &pc, &pub, &err);
  cr_assert_null(pub);
  cr_assert_not_null(strstr(err, "MyFamily"));
  al_free(err);
  lines_free(fam);
  relay_publish_cfg_t pc2 = { .contact = "two\nlines", .auths = pc.auths, .n_auths = 1 };
  pub = relay_publish_new(rr, evloop_base(), &pc2, &err);
  cr_assert_null(pub);
  cr_assert_not_null(strstr(err, "ContactInfo"));
  al_free(err);
  relay_publish_cfg_t pc3 = { .n_auths = 0 };
  pub = relay_publish_new(rr, evloop_base(), &pc3, &err);
  cr_assert_null(pub);
  cr_assert_not_null(strstr(err, "authorit"));
  al_free(err);
  relay_run_free(rr);
}

/* An ntor key older than RELAY_KEYS_ONION_ROTATION is rotated when the
 * publisher starts: the descriptor names the new key, the old one is kept
 * as secret_onion_key_ntor.old, and the identity stays. */
Test(relay_publish, onion_key_rotation_at_start)
{
  char path[128];
  snprintf(path, sizeof(path), "%s/keys/secret_onion_key_ntor", DIR_);
  struct timespec old[2] = { { time(NULL) - RELAY_KEYS_ONION_ROTATION - 60, 0 },
                             { time(NULL) - RELAY_KEYS_ONION_ROTATION - 60, 0 } };
  cr_assert_eq(utimensat(AT_FDCWD, path, old, 0), 0);
  relay_publish_cfg_t pc = { .publish = false, .datadir = DIR_ };
  relay_publish_t *pub = NULL;
  char *err = NULL;
  relay_run_t *rr = relay_with("127.0.0.1:auto", "127.0.0.1", &pc, &pub, &err);
  cr_assert_not_null(pub, "%s", err ? err : "");
  relay_run_set_publisher(rr, pub);
  cr_assert_eq(relay_run_start(rr), 0);
  router_desc_params_t p;
  cr_assert_eq(relay_publish_fill_params(pub, time(NULL), &p), 0);
  cr_assert_neq(memcmp(relay_keys_onion_ntor(p.keys)->pub, relay_keys_onion_ntor(KEYS)->pub, 32), 0,
                "the descriptor still names the old ntor key");
  cr_assert_eq(memcmp(relay_keys_identity_digest(p.keys), relay_keys_identity_digest(KEYS), 20), 0);
  x25519_keypair_t prev;
  cr_assert_eq(relay_keys_load_prev_ntor(DIR_, time(NULL), RELAY_KEYS_ONION_GRACE, &prev), 0);
  cr_assert_eq(memcmp(prev.pub, relay_keys_onion_ntor(KEYS)->pub, 32), 0);
  relay_run_free(rr);
  /* The new key is the one on disk. */
  relay_keys_t *k2 = NULL;
  cr_assert_eq(relay_keys_load_or_create(DIR_, 0, &k2), 0);
  cr_assert_neq(memcmp(relay_keys_onion_ntor(k2)->pub, relay_keys_onion_ntor(KEYS)->pub, 32), 0);
  relay_keys_free(k2);
}

/* PublishServerDescriptor 0: the directory view runs, nothing is uploaded
 * (the relay exposes the bootstrap to the directory cache). */
static int docs_seen;
static void
doc_cb(dir_boot_doc_t kind, const char *text, size_t len, void *arg)
{
  (void)kind; (void)text; (void)len; (void)arg;
  docs_seen++;
}

Test(relay_publish, document_cb_before_and_after_publisher)
{
  relay_publish_cfg_t pc = { .publish = false };
  relay_publish_t *pub = NULL;
  char *err = NULL;
  relay_run_t *rr = relay_with("127.0.0.1:auto", "127.0.0.1", &pc, &pub, &err);
  cr_assert_not_null(pub);
  cr_assert_null(relay_run_dir_boot(rr));
  relay_run_set_dir_document_cb(rr, doc_cb, NULL);
  relay_run_set_publisher(rr, pub);
  cr_assert_not_null(relay_run_dir_boot(rr));
  cr_assert_not_null(relay_run_nodelist(rr));
  cr_assert_eq(relay_run_start(rr), 0);
  relay_run_set_dir_document_cb(rr, NULL, NULL);
  cr_assert_eq(docs_seen, 0);
  relay_run_free(rr);
}

/* SIGHUP: ContactInfo, MyFamily, the advertised bandwidth and the
 * nickname change the next descriptor (1: republish); the same options
 * again change nothing (0); a bad MyFamily or ContactInfo is refused (-1)
 * and keeps the running values; PublishServerDescriptor 0 -> 1 starts the
 * uploader. */
Test(relay_publish, reconfigure_on_sighup)
{
  config_line_t *fam = line("MyFamily", FPB, NULL);
  relay_publish_cfg_t pc = { .publish = false, .contact = "old <old AT example>",
                             .family = fam, .bw_rate = 5000000 };
  relay_publish_t *pub = NULL;
  char *err = NULL;
  relay_run_t *rr = relay_with("127.0.0.1:auto", "127.0.0.1", &pc, &pub, &err);
  cr_assert_not_null(pub, "%s", err ? err : "");
  relay_run_set_publisher(rr, pub);
  router_desc_params_t p;

  cr_assert_eq(relay_publish_check_reload(pub, &pc, &err), 0);
  cr_assert_eq(relay_publish_reconfigure(pub, &pc, false, &err), 0, "nothing changed");
  cr_assert_eq(relay_publish_reconfigure(pub, &pc, true, &err), 1, "nickname changed");

  relay_publish_cfg_t bad = pc;
  config_line_t *badfam = line("MyFamily", "$0123", NULL);
  bad.family = badfam;
  cr_assert_eq(relay_publish_check_reload(pub, &bad, &err), -1);
  cr_assert_not_null(strstr(err, "MyFamily"));
  al_free(err);
  err = NULL;
  cr_assert_eq(relay_publish_reconfigure(pub, &bad, false, &err), -1);
  al_free(err);
  err = NULL;
  bad.family = fam;
  bad.contact = "two\nlines";
  cr_assert_eq(relay_publish_reconfigure(pub, &bad, false, &err), -1);
  al_free(err);
  err = NULL;
  cr_assert_eq(relay_publish_fill_params(pub, time(NULL), &p), 0);
  cr_assert_str_eq(p.contact, "old <old AT example>", "refused: old values kept");
  cr_assert_eq(p.n_family, 1);

  relay_publish_cfg_t nc = pc;
  nc.contact = "new <new AT example>";
  nc.family = NULL;
  nc.bw_rate = 2000000;
  cr_assert_eq(relay_publish_reconfigure(pub, &nc, false, &err), 1);
  cr_assert_eq(relay_publish_fill_params(pub, time(NULL), &p), 0);
  cr_assert_str_eq(p.contact, "new <new AT example>");
  cr_assert_eq(p.n_family, 0);
  cr_assert_eq(p.bw_avg, 2000000);
  cr_assert_eq(p.bw_burst, RELAY_PUBLISH_DEFAULT_BW);
  cr_assert_eq(relay_publish_reconfigure(pub, &nc, false, &err), 0);
  nc.contact = NULL;
  cr_assert_eq(relay_publish_reconfigure(pub, &nc, false, &err), 1, "contact removed");
  cr_assert_eq(relay_publish_fill_params(pub, time(NULL), &p), 0);
  cr_assert_null(p.contact);

  /* the nickname lives in the runtime */
  cr_assert_not(relay_run_set_nickname(rr, "pubtest"));
  cr_assert(relay_run_set_nickname(rr, "renamed"));
  cr_assert_eq(relay_publish_fill_params(pub, time(NULL), &p), 0);
  cr_assert_str_eq(p.nickname, "renamed");
  cr_assert(relay_run_set_nickname(rr, NULL));
  cr_assert_str_eq(relay_run_nickname(rr), "Unnamed");
  relay_run_set_heartbeat(rr, 0);      /* before start: just recorded */

  /* PublishServerDescriptor 0 -> 1 -> 0 */
  nc.publish = true;
  cr_assert_eq(relay_publish_reconfigure(pub, &nc, false, &err), 1);
  nc.publish = false;
  cr_assert_eq(relay_publish_reconfigure(pub, &nc, false, &err), 1);
  cr_assert_eq(relay_publish_reconfigure(pub, &nc, false, &err), 0);
  lines_free(fam);
  lines_free(badfam);
  relay_run_free(rr);
}
