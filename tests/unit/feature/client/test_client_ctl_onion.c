/* test_client_ctl_onion.c -- onion services on the control port
 * (client_ctl_onion.c, client_ctl_onion_parse.c; control-spec 3.26 HSFETCH,
 * 3.27 ADD_ONION, 3.28 DEL_ONION, 3.30-3.32 ONION_CLIENT_AUTH_*, 3.9
 * onions/current and onions/detached): the argument parsers with good,
 * malformed, truncated and oversized input, the replies' format, which
 * controller owns which service (and what dies when it closes), and the
 * client authorization keys kept in memory or written in tor's format. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/client/client.h"
#include "allium/feature/client/client_ctl_onion.h"
#include "allium/feature/hs_common/hs_auth_private.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/malloc/malloc.h"
#include "fake_origin_channels.h"
#include "netfix.h"
/* the client's internals: the fetcher's observer (HS_DESC) */
#include "../../../../src/feature/client/client_hs_svc.h"

static char cm_dummy;
#define FAKE_CM ((chanmgr_t *)(void *)&cm_dummy)

static const netfix_relay_t net[] = {
  { "g1", 0x11, "10.1.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
  { "m1", 0x21, "10.4.0.1", F_STD, 1000, NULL, NULL },
  { "e1", 0x31, "10.6.0.1", F_STD | F_EXIT, 1000, "accept 80,443", NULL },
};

/* ---- the parsers ---- */

static int
add_code(const char *args, bool single, const char **why)
{
  client_onion_add_t a;
  const char *w = NULL;
  int code = client_onion_parse_add(args, single, &a, &w);
  client_onion_add_clear(&a);
  if (why)
    *why = w;
  if (code)
    cr_assert_not_null(w, "%s", args);
  return code;
}

Test(onion_parse, add_good)
{
  client_onion_add_t a;
  const char *why = NULL;
  cr_assert_eq(client_onion_parse_add("NEW:BEST Port=80", false, &a, &why),
               0, "%s", why);
  cr_assert(a.key_new);
  cr_assert_eq(a.n_ports, 1);
  cr_assert_eq(a.ports[0].virt_port, 80);
  client_onion_add_clear(&a);

  cr_assert_eq(client_onion_parse_add(
                 "new:ed25519-v3 Flags=DiscardPK,Detach,V3Auth,"
                 "MaxStreamsCloseCircuit MaxStreams=7 Port=80,8080 "
                 "Port=443,127.0.0.1:4443 Port=22,unix:/tmp/x.sock "
                 "ClientAuthV3=" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                 false, &a, &why), 0, "%s", why);
  cr_assert(a.discard_pk && a.detach && a.v3auth && a.max_streams_close);
  cr_assert_eq(a.max_streams, 7);
  cr_assert_eq(a.n_ports, 3);
  cr_assert_eq(a.ports[1].virt_port, 443);
  cr_assert(a.ports[2].is_unix);
  cr_assert_eq(a.n_clients, 1);
  client_onion_add_clear(&a);

  /* NonAnonymous only in single-onion mode, and required there */
  cr_assert_eq(add_code("NEW:BEST Flags=NonAnonymous Port=80", true, NULL), 0);
}

Test(onion_parse, add_given_key)
{
  ed25519_keypair_t kp;
  cr_assert_eq(ed25519_keypair_generate(&kp), 0);
  char b64[100], args[200];
  base64_encode(b64, sizeof(b64), kp.sec.seckey, 64, 0);
  snprintf(args, sizeof(args), "ED25519-V3:%s Port=80", b64);
  client_onion_add_t a;
  const char *why = NULL;
  cr_assert_eq(client_onion_parse_add(args, false, &a, &why), 0, "%s", why);
  cr_assert_not(a.key_new);
  cr_assert_arr_eq(a.key.pub.pubkey, kp.pub.pubkey, 32);
  client_onion_add_clear(&a);
  /* without padding too */
  b64[86] = '\0';
  snprintf(args, sizeof(args), "ED25519-V3:%s Port=80", b64);
  cr_assert_eq(add_code(args, false, NULL), 0);
  /* truncated */
  b64[40] = '\0';
  snprintf(args, sizeof(args), "ED25519-V3:%s Port=80", b64);
  cr_assert_eq(add_code(args, false, NULL), 512);
}

Test(onion_parse, add_bad)
{
  const char *why = NULL;
  cr_assert_eq(add_code("", false, &why), 512);
  cr_assert_str_eq(why, "Missing argument");
  cr_assert_eq(add_code("Port=80", false, NULL), 512);
  cr_assert_eq(add_code("NEW Port=80", false, &why), 512);
  cr_assert_str_eq(why, "Invalid key type/blob");
  cr_assert_eq(add_code("NEW:RSA1024 Port=80", false, NULL), 513);
  cr_assert_eq(add_code("RSA1024:AAAA Port=80", false, NULL), 513);
  cr_assert_eq(add_code("ED25519-V3:!!!! Port=80", false, &why), 512);
  cr_assert_str_eq(why, "Failed to decode ED25519-V3 key");
  cr_assert_eq(add_code("NEW:BEST", false, &why), 512);
  cr_assert_str_eq(why, "Missing 'Port' argument");
  static const char *const bad_ports[] = {
    "Port=", "Port=0", "Port=65536", "Port=80,", "Port=,80", "Port=80,a:b",
    "Port=80,1,2", "Port=x", "Port=80,unix:", "Port=-1", "Port=+80",
  };
  for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
    char args[64];
    snprintf(args, sizeof(args), "NEW:BEST %s", bad_ports[i]);
    cr_assert_eq(add_code(args, false, &why), 512, "%s", args);
    cr_assert_str_eq(why, "Invalid VIRTPORT/TARGET", "%s", args);
  }
  cr_assert_eq(add_code("NEW:BEST Flags=Bogus Port=80", false, &why), 512);
  cr_assert_str_eq(why, "Invalid 'Flags' argument");
  cr_assert_eq(add_code("NEW:BEST Flags= Port=80", false, NULL), 512);
  cr_assert_eq(add_code("NEW:BEST Flags=BasicAuth Port=80", false, NULL), 512);
  cr_assert_eq(add_code("NEW:BEST MaxStreams=65536 Port=80", false, &why),
               512);
  cr_assert_str_eq(why, "Invalid 'MaxStreams' argument");
  cr_assert_eq(add_code("NEW:BEST MaxStreams=-1 Port=80", false, NULL), 512);
  cr_assert_eq(add_code("NEW:BEST MaxStreams= Port=80", false, NULL), 512);
  cr_assert_eq(add_code("NEW:BEST Port=80 ClientAuthV3=abc", false, &why),
               512);
  cr_assert_str_eq(why, "Cannot decode v3 client auth key");
  cr_assert_eq(add_code("NEW:BEST Port=80 ClientAuth=bob", false, NULL), 513);
  cr_assert_eq(add_code("NEW:BEST Port=80 Bogus=1", false, NULL), 512);
  cr_assert_eq(add_code("NEW:BEST Port=80 stray", false, NULL), 512);
  cr_assert_eq(add_code("NEW:BEST Port=\"80", false, NULL), 512);
  cr_assert_eq(add_code("NEW:BEST Flags=NonAnonymous Port=80", false, &why),
               512);
  cr_assert_str_eq(why, "Tor is in anonymous hidden service mode");
  cr_assert_eq(add_code("NEW:BEST Port=80", true, &why), 512);
  cr_assert_str_eq(why, "Tor is in non-anonymous hidden service mode");
}

Test(onion_parse, add_oversized)
{
  /* too many tokens, too many ports */
  size_t cap = 8 + 10 * (CLIENT_ONION_MAX_ARGS + 2);
  char *args = al_malloc(cap);
  size_t off = (size_t)snprintf(args, cap, "NEW:BEST");
  for (int i = 0; i < CLIENT_ONION_MAX_ARGS + 1; i++)
    off += (size_t)snprintf(args + off, cap - off, " Port=%d", 1 + i % 999);
  cr_assert_eq(add_code(args, false, NULL), 512);
  off = (size_t)snprintf(args, cap, "NEW:BEST");
  for (int i = 0; i < CLIENT_ONION_MAX_PORTS + 1; i++)
    off += (size_t)snprintf(args + off, cap - off, " Port=%d", 1 + i);
  cr_assert_eq(add_code(args, false, NULL), 512);
  al_free(args);
  /* a huge key blob */
  char *big = al_malloc(20000);
  memcpy(big, "ED25519-V3:", 11);
  memset(big + 11, 'A', 19000);
  strcpy(big + 19011, " Port=80");
  cr_assert_eq(add_code(big, false, NULL), 512);
  al_free(big);
}

static const char *
fresh_id(char out[57], ed25519_keypair_t *kp)
{
  char addr[HS_ONION_ADDR_LEN + 1];
  cr_assert_eq(ed25519_keypair_generate(kp), 0);
  cr_assert_eq(hs_onion_address_encode(addr, sizeof(addr), &kp->pub), 0);
  memcpy(out, addr, 56);
  out[56] = '\0';
  return out;
}

Test(onion_parse, ids_and_auth_add)
{
  ed25519_keypair_t kp;
  char id[57];
  fresh_id(id, &kp);
  ed25519_public_key_t pk;
  cr_assert_eq(client_onion_parse_id(id, &pk), 0);
  cr_assert_arr_eq(pk.pubkey, kp.pub.pubkey, 32);
  char tmp[80];
  snprintf(tmp, sizeof(tmp), "%s.onion", id);
  cr_assert_eq(client_onion_parse_id(tmp, &pk), -1);
  memcpy(tmp, id, 57);
  tmp[10] = tmp[10] == 'a' ? 'b' : 'a';   /* checksum breaks */
  cr_assert_eq(client_onion_parse_id(tmp, &pk), -1);
  cr_assert_eq(client_onion_parse_id("abc", &pk), -1);
  cr_assert_eq(client_onion_parse_id("", &pk), -1);

  uint8_t key[32];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)i;
  char b64[64], args[256];
  base64_encode(b64, sizeof(b64), key, 32, 0);
  client_onion_auth_add_t r;
  const char *why = NULL;
  snprintf(args, sizeof(args), "%s x25519:%s ClientName=alice "
           "Flags=Permanent", id, b64);
  cr_assert_eq(client_onion_parse_auth_add(args, &r, &why), 0, "%s", why);
  cr_assert_arr_eq(r.secret, key, 32);
  cr_assert_str_eq(r.name, "alice");
  cr_assert(r.permanent);
  /* after the address: a bad key, or the good key and then tail */
  static const struct { const char *key, *tail; int code; } bad[] = {
    { "", "", 512 },
    { " x25519", "", 552 },
    { " curve:AAAA", "", 552 },
    { " x25519:AAAA", "", 512 },
    { NULL, " ClientName=", 512 },
    { NULL, " ClientName=a b", 512 },
    { NULL, " ClientName=has.dot", 512 },
    { NULL, " Flags=Forever", 512 },
    { NULL, " Bogus=1", 512 },
    { NULL, " stray", 512 },
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (bad[i].key)
      snprintf(args, sizeof(args), "%s%s", id, bad[i].key);
    else
      snprintf(args, sizeof(args), "%s x25519:%s%s", id, b64, bad[i].tail);
    cr_assert_eq(client_onion_parse_auth_add(args, &r, &why), bad[i].code,
                 "%s", args);
  }
  snprintf(args, sizeof(args), "notanaddress x25519:%s", b64);
  cr_assert_eq(client_onion_parse_auth_add(args, &r, &why), 512);
  cr_assert_str_eq(why, "Invalid v3 address");
  /* a name over the cap */
  char longname[CLIENT_ONION_MAX_NAME + 2];
  memset(longname, 'n', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  snprintf(args, sizeof(args), "%s x25519:%s ClientName=%s", id, b64,
           longname);
  cr_assert_eq(client_onion_parse_auth_add(args, &r, &why), 512);
}

/* ---- the commands ---- */

static struct event_base *base;
static nodelist_t *nl;
static client_t *cl;
static char tmpdir[64];

static void
mk_client(const char *auth_dir)
{
  base = event_base_new();
  nl = netfix_nodelist(net, sizeof(net) / sizeof(net[0]), NULL, NULL);
  cr_assert_not_null(nl);
  fake_reset();
  client_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.base = base;
  cfg.cm = FAKE_CM;
  cfg.nl = nl;
  pathsel_options_init(&cfg.path_opts);
  cfg.onion_auth_dir = auth_dir;
  cl = client_new(&cfg);
  cr_assert_not_null(cl);
  client_ctl_attach(cl);
}

static void
setup(void)
{
  strcpy(tmpdir, "/tmp/allium-ctl-onion.XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
  client_free(cl);
  fake_reset();
  nodelist_free(nl);
  if (base)
    event_base_free(base);
  base = NULL;
  ctlinfo_reset();
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    cr_log_warn("could not remove %s", tmpdir);
}

/* Run keyword args as controller conn; the reply (al_malloc'd). */
static char *
run(uint64_t conn, const char *keyword, const char *args)
{
  char *reply = NULL;
  cr_assert_eq(ctlcmd_run(keyword, conn, args, NULL, &reply), 1, "%s",
               keyword);
  cr_assert_not_null(reply);
  return reply;
}

static void
expect(uint64_t conn, const char *keyword, const char *args, const char *want)
{
  char *r = run(conn, keyword, args);
  cr_assert_str_eq(r, want, "%s %s", keyword, args);
  al_free(r);
}

/* ADD_ONION as conn: the 56-character id. */
static void
add_onion(uint64_t conn, const char *args, char id[57])
{
  char *r = run(conn, "ADD_ONION", args);
  cr_assert(!strncmp(r, "250-ServiceID=", 14), "%s", r);
  memcpy(id, r + 14, 56);
  id[56] = '\0';
  cr_assert(!strncmp(r + 70, "\r\n", 2), "%s", r);
  al_free(r);
}

static size_t
n_services(void)
{
  client_stats_t st;
  client_get_stats(cl, &st);
  return st.hs_services;
}

/* GETINFO key as conn: the answer, or NULL with *err. */
static char *
getinfo(uint64_t conn, const char *key, const char **err)
{
  char *answer = NULL;
  *err = NULL;
  ctlinfo_set_conn_id(conn);
  int r = ctlinfo_get(key, &answer, err);
  ctlinfo_set_conn_id(0);
  return r == 0 ? answer : NULL;
}

Test(onion_cmd, add_reply_format, .init = setup, .fini = teardown)
{
  mk_client(NULL);
  char *r = run(1, "ADD_ONION", "NEW:BEST Port=80");
  /* 250-ServiceID=<56>\r\n250-PrivateKey=ED25519-V3:<88>\r\n250 OK\r\n */
  cr_assert_eq(strlen(r), 14 + 56 + 2 + 26 + 88 + 2 + 8, "%s", r);
  cr_assert(!strncmp(r + 72, "250-PrivateKey=ED25519-V3:", 26), "%s", r);
  cr_assert_str_eq(r + 72 + 26 + 88, "\r\n250 OK\r\n");
  /* the returned key gives the same address, and collides */
  char key[89], args[200], id[57];
  memcpy(key, r + 98, 88);
  key[88] = '\0';
  memcpy(id, r + 14, 56);
  id[56] = '\0';
  al_free(r);
  cr_assert_eq(n_services(), 1);
  snprintf(args, sizeof(args), "ED25519-V3:%s Port=80", key);
  expect(2, "ADD_ONION", args, "550 Onion address collision\r\n");
  /* given key: no PrivateKey line; DiscardPK: none either */
  expect(1, "DEL_ONION", id, "250 OK\r\n");
  cr_assert_eq(n_services(), 0);
  r = run(1, "ADD_ONION", args);
  char want[100];
  snprintf(want, sizeof(want), "250-ServiceID=%s\r\n250 OK\r\n", id);
  cr_assert_str_eq(r, want);
  al_free(r);
  r = run(1, "ADD_ONION", "NEW:ED25519-V3 Flags=DiscardPK Port=80,8080");
  cr_assert_eq(strlen(r), 72 + 8, "%s", r);
  al_free(r);
  /* ClientAuthV3 keys are echoed */
  r = run(1, "ADD_ONION", "NEW:BEST Flags=DiscardPK Port=80 ClientAuthV3="
          "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA");
  cr_assert(strstr(r, "\r\n250-ClientAuthV3="
                   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbba"
                   "\r\n250 OK\r\n"), "%s", r);
  al_free(r);
  cr_assert_eq(n_services(), 3);
  /* errors */
  expect(1, "ADD_ONION", "NEW:BEST", "512 Missing 'Port' argument\r\n");
  expect(1, "ADD_ONION", "NEW:RSA1024 Port=80", "513 Invalid key type\r\n");
  expect(1, "ADD_ONION", "NEW:BEST Flags=NonAnonymous Port=80",
         "512 Tor is in anonymous hidden service mode\r\n");
  cr_assert_eq(n_services(), 3);
}

Test(onion_cmd, ownership, .init = setup, .fini = teardown)
{
  mk_client(NULL);
  char a[57], b[57], d[57];
  add_onion(1, "NEW:BEST Flags=DiscardPK Port=80", a);
  add_onion(1, "NEW:BEST Flags=DiscardPK Port=81", b);
  add_onion(2, "NEW:BEST Flags=DiscardPK,Detach Port=82", d);
  cr_assert_eq(n_services(), 3);
  const char *err;
  char *ans = getinfo(1, "onions/current", &err);
  cr_assert_not_null(ans);
  cr_assert_eq(strlen(ans), 56 * 2 + 1);
  cr_assert(strstr(ans, a) && strstr(ans, b) && ans[56] == '\n');
  al_free(ans);
  cr_assert_null(getinfo(2, "onions/current", &err));
  cr_assert_str_eq(err, "No onion services of the specified type.");
  ans = getinfo(3, "onions/detached", &err);
  cr_assert_str_eq(ans, d);
  al_free(ans);
  /* another connection may not delete 1's, but may delete a detached one */
  expect(2, "DEL_ONION", a, "552 Unknown Onion Service id\r\n");
  expect(3, "DEL_ONION", d, "250 OK\r\n");
  expect(3, "DEL_ONION", d, "552 Unknown Onion Service id\r\n");
  cr_assert_eq(n_services(), 2);
  /* malformed and unknown ids, argument count */
  expect(1, "DEL_ONION", "", "512 Invalid argument count\r\n");
  expect(1, "DEL_ONION", "a b", "512 Invalid argument count\r\n");
  expect(1, "DEL_ONION", "short", "512 Malformed Onion Service id\r\n");
  ed25519_keypair_t kp;
  char other[57];
  fresh_id(other, &kp);
  expect(1, "DEL_ONION", other, "552 Unknown Onion Service id\r\n");
  /* connection 1 closes: its services die, the detached ones stay */
  add_onion(2, "NEW:BEST Flags=DiscardPK,Detach Port=83", d);
  ctlcmd_conn_closed(1);
  cr_assert_eq(n_services(), 1);
  cr_assert_null(getinfo(1, "onions/current", &err));
  ans = getinfo(1, "onions/detached", &err);
  cr_assert_str_eq(ans, d);
  al_free(ans);
  ctlcmd_conn_closed(2);
  cr_assert_eq(n_services(), 1);
}

static char *
read_file(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  char *buf = al_calloc(1, 512);
  size_t n = fread(buf, 1, 511, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

Test(onion_cmd, client_auth, .init = setup, .fini = teardown)
{
  mk_client(tmpdir);
  ed25519_keypair_t kp;
  char id[57], id2[57];
  fresh_id(id, &kp);
  fresh_id(id2, &kp);
  uint8_t key[32];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)(7 * i);
  char b64[64], args[256], want[512];
  base64_encode(b64, sizeof(b64), key, 32, 0);
  snprintf(want, sizeof(want), "250-ONION_CLIENT_AUTH_VIEW\r\n250 OK\r\n");
  expect(1, "ONION_CLIENT_AUTH_VIEW", "", want);
  snprintf(args, sizeof(args), "%s x25519:%s ClientName=bob", id, b64);
  expect(1, "ONION_CLIENT_AUTH_ADD", args, "250 OK\r\n");
  expect(1, "ONION_CLIENT_AUTH_ADD", args,
         "251 Client for onion existed and replaced\r\n");
  snprintf(args, sizeof(args), "%s x25519:%s Flags=Permanent", id2, b64);
  expect(1, "ONION_CLIENT_AUTH_ADD", args, "250 OK\r\n");
  /* the file, in tor's format, parses back */
  char path[200];
  snprintf(path, sizeof(path), "%s/%s.auth_private", tmpdir, id2);
  char *text = read_file(path);
  cr_assert_not_null(text);
  hs_auth_private_t e;
  const char *why = NULL;
  cr_assert_eq(hs_auth_private_parse(text, strlen(text), &e, &why), 0, "%s",
               why);
  cr_assert_arr_eq(e.secret, key, 32);
  al_free(text);
  struct stat sb;
  cr_assert_eq(stat(path, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0600);
  /* VIEW of one, VIEW of all */
  snprintf(want, sizeof(want), "250-ONION_CLIENT_AUTH_VIEW %s\r\n"
           "250-CLIENT %s x25519:%s ClientName=bob\r\n250 OK\r\n", id, id,
           b64);
  expect(1, "ONION_CLIENT_AUTH_VIEW", id, want);
  char *r = run(1, "ONION_CLIENT_AUTH_VIEW", "");
  cr_assert(strstr(r, "Flags=Permanent\r\n"), "%s", r);
  cr_assert(strstr(r, "ClientName=bob\r\n"), "%s", r);
  al_free(r);
  expect(1, "ONION_CLIENT_AUTH_VIEW", "bad", "512 Invalid v3 address\r\n");
  /* REMOVE */
  expect(1, "ONION_CLIENT_AUTH_REMOVE", id2, "250 OK\r\n");
  cr_assert_neq(stat(path, &sb), 0);
  expect(1, "ONION_CLIENT_AUTH_REMOVE", id2,
         "251 No credentials for this address\r\n");
  expect(1, "ONION_CLIENT_AUTH_REMOVE", "", "512 Invalid v3 address\r\n");
  expect(1, "ONION_CLIENT_AUTH_REMOVE", "xyz", "512 Invalid v3 address\r\n");
  snprintf(want, sizeof(want), "250-ONION_CLIENT_AUTH_VIEW\r\n"
           "250-CLIENT %s x25519:%s ClientName=bob\r\n250 OK\r\n", id, b64);
  expect(1, "ONION_CLIENT_AUTH_VIEW", "", want);
  /* errors */
  snprintf(args, sizeof(args), "%s rsa:%s", id, b64);
  expect(1, "ONION_CLIENT_AUTH_ADD", args, "552 Unrecognized key type\r\n");
  expect(1, "ONION_CLIENT_AUTH_ADD", "x", "512 Invalid argument count\r\n");
}

Test(onion_cmd, permanent_needs_dir, .init = setup, .fini = teardown)
{
  mk_client(NULL);
  ed25519_keypair_t kp;
  char id[57], args[256];
  fresh_id(id, &kp);
  snprintf(args, sizeof(args), "%s x25519:%s Flags=Permanent", id,
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  expect(1, "ONION_CLIENT_AUTH_ADD", args, "551 Unable to store creds\r\n");
  expect(1, "ONION_CLIENT_AUTH_VIEW", "",
         "250-ONION_CLIENT_AUTH_VIEW\r\n250 OK\r\n");
}

Test(onion_cmd, hsfetch, .init = setup, .fini = teardown)
{
  mk_client(NULL);
  expect(1, "HSFETCH", "", "512 Invalid argument count\r\n");
  expect(1, "HSFETCH", "notanaddress", "552 Invalid argument\r\n");
  expect(1, "HSFETCH", "v2-gezdgnbvgy3tqolbmjrwizlgm5ugs2tl",
         "552 Invalid argument\r\n");
  ed25519_keypair_t kp;
  char id[57], args[200];
  fresh_id(id, &kp);
  snprintf(args, sizeof(args), "%s SERVER=$%040d", id, 0);
  expect(1, "HSFETCH", args, "552 Invalid argument\r\n");
  snprintf(args, sizeof(args), "%s BOGUS=1", id);
  expect(1, "HSFETCH", args, "513 Unexpected argument\r\n");
  expect(1, "HSFETCH", id, "250 OK\r\n");
}

/* ---- HS_DESC (4.1.25) ---- */

#define MAX_EV 16
static char *evs[MAX_EV];
static size_t n_evs;

static void
sink(ctlev_type_t t, const char *msg, size_t len, void *arg)
{
  (void)arg;
  if ((t != CTLEV_HS_DESC && t != CTLEV_HS_DESC_CONTENT) || n_evs == MAX_EV)
    return;
  evs[n_evs] = al_malloc(len + 1);
  memcpy(evs[n_evs], msg, len);
  evs[n_evs++][len] = '\0';
}

static void
evs_clear(void)
{
  for (size_t i = 0; i < n_evs; i++)
    al_free(evs[i]);   /* a macro: no side effects in its argument */
  n_evs = 0;
}

Test(onion_cmd, hs_desc_events, .init = setup, .fini = teardown)
{
  mk_client(NULL);
  ctlev_set_sink(sink, NULL);
  ed25519_keypair_t kp, bl;
  char id[57], want[300], fp[41], b64[50];
  fresh_id(id, &kp);
  cr_assert_eq(ed25519_keypair_generate(&bl), 0);
  uint8_t hsdir[20];
  netfix_id(hsdir, 0x11);
  base16_encode(fp, sizeof(fp), hsdir, 20);
  base64_encode(b64, sizeof(b64), bl.pub.pubkey, 32, BASE64_FLAG_NOPAD);
  /* nothing while nobody listens */
  client_ctl_fetch_observe(cl, HS_CLIENT_FETCH_EV_REQUESTED, &kp.pub, hsdir,
                           &bl.pub, NULL, NULL, 0);
  cr_assert_eq(n_evs, 0);
  ctlev_set_mask(1ull << CTLEV_HS_DESC);
  client_ctl_fetch_observe(cl, HS_CLIENT_FETCH_EV_REQUESTED, &kp.pub, hsdir,
                           &bl.pub, NULL, NULL, 0);
  client_ctl_fetch_observe(cl, HS_CLIENT_FETCH_EV_FAILED, &kp.pub, hsdir,
                           &bl.pub, "NOT_FOUND", NULL, 0);
  client_ctl_fetch_observe(cl, HS_CLIENT_FETCH_EV_FAILED, &kp.pub, NULL,
                           &bl.pub, "QUERY_NO_HSDIR", NULL, 0);
  client_ctl_hs_desc_event(cl, "UPLOADED", &kp.pub, "UNKNOWN", hsdir, NULL,
                           NULL);
  cr_assert_eq(n_evs, 4);
  snprintf(want, sizeof(want), "650 HS_DESC REQUESTED %s NO_AUTH $%s~g1 "
           "%s\r\n", id, fp, b64);
  cr_assert_str_eq(evs[0], want);
  snprintf(want, sizeof(want), "650 HS_DESC FAILED %s NO_AUTH $%s~g1 "
           "%s REASON=NOT_FOUND\r\n", id, fp, b64);
  cr_assert_str_eq(evs[1], want);
  snprintf(want, sizeof(want), "650 HS_DESC FAILED %s NO_AUTH UNKNOWN "
           "REASON=QUERY_NO_HSDIR\r\n", id);
  cr_assert_str_eq(evs[2], want);
  snprintf(want, sizeof(want), "650 HS_DESC UPLOADED %s UNKNOWN $%s~g1\r\n",
           id, fp);
  cr_assert_str_eq(evs[3], want);
  evs_clear();
  /* HS_DESC_CONTENT after RECEIVED and FAILED: the descriptor, dot-stuffed */
  ctlev_set_mask((1ull << CTLEV_HS_DESC) | (1ull << CTLEV_HS_DESC_CONTENT));
  static const char body[] = "hs-descriptor 3\n.dot\nsignature x\n";
  client_ctl_fetch_observe(cl, HS_CLIENT_FETCH_EV_RECEIVED, &kp.pub, hsdir,
                           &bl.pub, NULL, (const uint8_t *)body,
                           strlen(body));
  client_ctl_fetch_observe(cl, HS_CLIENT_FETCH_EV_FAILED, &kp.pub, hsdir,
                           &bl.pub, "NOT_FOUND", NULL, 0);
  cr_assert_eq(n_evs, 4);
  snprintf(want, sizeof(want), "650 HS_DESC RECEIVED %s NO_AUTH $%s~g1 "
           "%s\r\n", id, fp, b64);
  cr_assert_str_eq(evs[0], want);
  snprintf(want, sizeof(want), "650+HS_DESC_CONTENT %s %s $%s~g1\r\n"
           "hs-descriptor 3\r\n..dot\r\nsignature x\r\n.\r\n650 OK\r\n",
           id, b64, fp);
  cr_assert_str_eq(evs[1], want);
  snprintf(want, sizeof(want), "650+HS_DESC_CONTENT UNKNOWN %s $%s~g1\r\n"
           ".\r\n650 OK\r\n", b64, fp);
  cr_assert_str_eq(evs[3], want);
  evs_clear();
  /* HSFETCH: its events come after the reply (the loop's next turn) */
  expect(1, "HSFETCH", id, "250 OK\r\n");
  size_t before = n_evs;
  event_base_loop(base, EVLOOP_NONBLOCK);
  event_base_loop(base, EVLOOP_NONBLOCK);
  cr_assert_geq(n_evs, before);
  evs_clear();
  ctlev_set_sink(NULL, NULL);
}
