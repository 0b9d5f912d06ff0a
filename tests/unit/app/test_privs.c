/* test_privs.c -- unit tests for src/app/main/privs.c: port-spec parsing
 * for the privileged-port check, the User pre-check and the drop
 * verification (the real drop is tested black-box in tests/daemon). */
#include <criterion/criterion.h>

#include <pwd.h>
#include <sys/prctl.h>
#include <string.h>
#include <unistd.h>

#include "allium/app/main/privs.h"
#include "allium/lib/malloc/malloc.h"

static void
expect_port(const char *v, int want)
{
  int p = -99;
  cr_assert_eq(privs_port_parse(v, &p), 0, "\"%s\" rejected", v);
  cr_assert_eq(p, want, "\"%s\": got %d want %d", v, p, want);
}

static void
expect_bad_port(const char *v)
{
  int p = -99;
  cr_assert_eq(privs_port_parse(v, &p), -1, "\"%s\" accepted", v);
}

Test(privs, port_parse_good)
{
  expect_port("9050", 9050);
  expect_port("80", 80);
  expect_port("0", 0);
  expect_port("65535", 65535);
  expect_port("auto", -1);
  expect_port("AUTO", -1);
  expect_port("127.0.0.1:9050", 9050);
  expect_port("127.0.0.1:443 IsolateDestAddr", 443);
  expect_port("  443 NoListen", 443);
  expect_port("0.0.0.0:auto", -1);
  expect_port("[::1]:9050", 9050);
  expect_port("[::]:80", 80);
  expect_port("localhost:99", 99);
  expect_port("unix:/run/allium/socks", -1);
  expect_port("unix:\"/path with/space\"", -1);
}

Test(privs, port_parse_bad)
{
  expect_bad_port(NULL);
  expect_bad_port("");
  expect_bad_port("   ");
  expect_bad_port("65536");
  expect_bad_port("999999");
  expect_bad_port("-1");
  expect_bad_port("90a");
  expect_bad_port("127.0.0.1:");
  expect_bad_port(":9050");
  expect_bad_port("::1:9050");
  expect_bad_port("[::1]9050");
  expect_bad_port("[::1]:");
  expect_bad_port("[::1");
  expect_bad_port("unix:");
  expect_bad_port("127.0.0.1:99999");
}

Test(privs, need_bind_service)
{
  const char *none[] = { "9050", "auto", "127.0.0.1:9001", "0", "unix:/x" };
  cr_assert_eq(privs_ports_need_bind_service(none, 5), 0);
  const char *low[] = { "9050", "127.0.0.1:443" };
  cr_assert_eq(privs_ports_need_bind_service(low, 2), 1);
  const char *edge[] = { "1023" };
  cr_assert_eq(privs_ports_need_bind_service(edge, 1), 1);
  const char *edge2[] = { "1024" };
  cr_assert_eq(privs_ports_need_bind_service(edge2, 1), 0);
  const char *bad[] = { "80", "bogus" };
  cr_assert_eq(privs_ports_need_bind_service(bad, 2), -1);
  cr_assert_eq(privs_ports_need_bind_service(NULL, 0), 0);
}

Test(privs, check_user)
{
  char *err = NULL;
  cr_assert_eq(privs_check_user(NULL, &err), 0);
  cr_assert_eq(privs_check_user("", &err), 0);
  cr_assert_eq(privs_check_user("no-such-user-allium-xyz", &err), -1);
  cr_assert_not_null(strstr(err, "not found"));
  al_free(err);
  struct passwd *me = getpwuid(geteuid());
  if (me) {
    char *name = al_strdup(me->pw_name);
    cr_assert_eq(privs_check_user(name, &err), 0);
    al_free(name);
  }
  if (geteuid() != 0) {
    cr_assert_eq(privs_check_user("root", &err), -1);
    cr_assert_not_null(strstr(err, "not running as root"), "%s", err);
    al_free(err);
  } else {
    cr_assert_eq(privs_check_user("nobody", &err), 0);
  }
}

Test(privs, drop_without_user_is_noop)
{
  char *err = NULL;
  cr_assert_eq(privs_drop(NULL, NULL, 0, &err), 0);
  cr_assert_eq(privs_drop("", "/nonexistent", 1, &err), 0);
  cr_assert_eq(privs_drop("no-such-user-allium-xyz", NULL, 0, &err), -1);
  al_free(err);
}

Test(privs, verify_detects_wrong_ids)
{
  char *err = NULL;
  /* Claim we should be some other uid: must fail, naming the uid check. */
  cr_assert_eq(privs_verify(getuid() + 1, getgid(), 0, &err), -1);
  cr_assert_not_null(strstr(err, "uid check failed"), "%s", err);
  al_free(err);
  cr_assert_eq(privs_verify(getuid(), getgid() + 1, 0, &err), -1);
  cr_assert_not_null(strstr(err, "gid check failed"), "%s", err);
  al_free(err);
  int r = privs_verify(getuid(), getgid(), 0, &err);
  if (geteuid() == 0) {
    /* root holds capabilities: "no capability at all" is false. */
    cr_assert_eq(r, -1);
    cr_assert_not_null(strstr(err, "capability check failed"), "%s", err);
    al_free(err);
  } else {
    cr_assert_eq(r, 0, "%s", err ? err : "");
  }
}

/* DisableDebuggerAttachment: the process is no longer dumpable.  (Each
 * criterion test runs in its own process.) */
Test(privs, disable_debugger_attachment)
{
  cr_assert_eq(prctl(PR_SET_DUMPABLE, 1L, 0L, 0L, 0L), 0);
  cr_assert_eq(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L), 1);
  cr_assert_eq(privs_disable_debugger_attachment(), 0);
  cr_assert_eq(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L), 0);
  /* idempotent */
  cr_assert_eq(privs_disable_debugger_attachment(), 0);
  cr_assert_eq(prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L), 0);
}
