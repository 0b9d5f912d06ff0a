/* test_hs_svc.c -- hosting onion services in the client role
 * (src/feature/client/client_hs_svc.c): client_new() with HiddenServiceDir
 * blocks loads or creates each service's keys in tor's layout (hostname,
 * hs_ed25519_*), reads authorized_clients/, and refuses to start when a
 * directory or an .auth file is unusable; without directory information no
 * circuit is launched; a restart keeps the address. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "allium/feature/client/client.h"
#include "allium/feature/hs_service/hs_service_config.h"
#include "allium/lib/conf/confline.h"
#include "allium/lib/malloc/malloc.h"
#include "fake_origin_channels.h"
#include "netfix.h"

static char cm_dummy;
#define FAKE_CM ((chanmgr_t *)(void *)&cm_dummy)

static const netfix_relay_t net[] = {
  { "g1", 0x11, "10.1.0.1", F_STD | F_GUARD, 1000, NULL, NULL },
  { "m1", 0x21, "10.4.0.1", F_STD, 1000, NULL, NULL },
  { "e1", 0x31, "10.6.0.1", F_STD | F_EXIT, 1000, "accept 80,443", NULL },
};

static char tmpdir[64];

static void
setup(void)
{
  strcpy(tmpdir, "/tmp/allium-hs-svc.XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  fake_reset();
}

static void
teardown(void)
{
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    cr_log_warn("could not remove %s", tmpdir);
  fake_reset();
}

/* Parse one service block with directory dir into *out. */
static hs_service_configs_t *
configs_for(const char *dir)
{
  char text[256];
  snprintf(text, sizeof(text),
           "HiddenServiceDir %s\nHiddenServicePort 80 127.0.0.1:8080\n", dir);
  config_line_t *lines = NULL;
  char *err = NULL;
  cr_assert_eq(confline_parse_string(text, NULL, &lines, &err), 0);
  hs_service_configs_t *c = NULL;
  cr_assert_eq(hs_service_config_parse(lines, &c, &err), 0, "%s",
               err ? err : "");
  confline_free(lines);
  return c;
}

/* A client hosting cfgs; NULL when client_new() refused. */
static client_t *
client_with(struct event_base *base, nodelist_t *nl,
            const hs_service_configs_t *cfgs)
{
  client_cfg_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.base = base;
  cfg.cm = FAKE_CM;
  cfg.nl = nl;
  pathsel_options_init(&cfg.path_opts);
  cfg.onion_services = cfgs;
  return client_new(&cfg);
}

static char *
read_small(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  char *buf = al_calloc(1, 256);
  size_t n = fread(buf, 1, 255, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

Test(hs_svc, keys_created_and_kept, .init = setup, .fini = teardown)
{
  struct event_base *base = event_base_new();
  nodelist_t *nl = netfix_nodelist(net, 3, NULL, NULL);
  char dir[128], path[160];
  snprintf(dir, sizeof(dir), "%s/hs", tmpdir);
  hs_service_configs_t *cfgs = configs_for(dir);
  client_t *c = client_with(base, nl, cfgs);
  cr_assert_not_null(c);
  /* no directory information yet: nothing launched */
  for (int i = 0; i < 3; i++)
    event_base_loop(base, EVLOOP_NONBLOCK);
  cr_assert_eq(fake_n_circs(), 0);
  client_free(c);
  snprintf(path, sizeof(path), "%s/hostname", dir);
  char *host1 = read_small(path);
  cr_assert_not_null(host1);
  cr_assert_eq(strlen(host1), 56 + 6 + 1, "%s", host1);  /* + newline */
  cr_assert_str_eq(host1 + 56, ".onion\n");
  snprintf(path, sizeof(path), "%s/hs_ed25519_secret_key", dir);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 077, 0, "secret key readable by others");
  /* restart: same address */
  c = client_with(base, nl, cfgs);
  cr_assert_not_null(c);
  client_free(c);
  snprintf(path, sizeof(path), "%s/hostname", dir);
  char *host2 = read_small(path);
  cr_assert_str_eq(host1, host2);
  al_free(host1);
  al_free(host2);
  hs_service_configs_free(cfgs);
  nodelist_free(nl);
  event_base_free(base);
}

Test(hs_svc, unusable_dir_refused, .init = setup, .fini = teardown)
{
  struct event_base *base = event_base_new();
  nodelist_t *nl = netfix_nodelist(net, 3, NULL, NULL);
  char dir[128];
  /* a regular file where the directory should be */
  snprintf(dir, sizeof(dir), "%s/file", tmpdir);
  FILE *f = fopen(dir, "w");
  cr_assert_not_null(f);
  fclose(f);
  hs_service_configs_t *cfgs = configs_for(dir);
  cr_assert_null(client_with(base, nl, cfgs));
  hs_service_configs_free(cfgs);
  nodelist_free(nl);
  event_base_free(base);
}

Test(hs_svc, bad_auth_file_refused, .init = setup, .fini = teardown)
{
  struct event_base *base = event_base_new();
  nodelist_t *nl = netfix_nodelist(net, 3, NULL, NULL);
  char dir[128], path[200];
  snprintf(dir, sizeof(dir), "%s/hs", tmpdir);
  cr_assert_eq(mkdir(dir, 0700), 0);
  snprintf(path, sizeof(path), "%s/authorized_clients", dir);
  cr_assert_eq(mkdir(path, 0700), 0);
  snprintf(path, sizeof(path), "%s/authorized_clients/bob.auth", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("descriptor:x25519:not-a-key\n", f);
  fclose(f);
  hs_service_configs_t *cfgs = configs_for(dir);
  cr_assert_null(client_with(base, nl, cfgs));
  /* a good key: accepted */
  f = fopen(path, "w");
  fputs("descriptor:x25519:"
        "GQA4GBSRHQZWQVJNS6H2OQ3XJZZ4PE4L3L6EDNXNKHNWNJOVZG4A\n", f);
  fclose(f);
  client_t *c = client_with(base, nl, cfgs);
  cr_assert_not_null(c);
  client_free(c);
  hs_service_configs_free(cfgs);
  nodelist_free(nl);
  event_base_free(base);
}
