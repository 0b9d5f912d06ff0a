/* test_ctlbus.c -- the control bus: event framing, the mask, GETINFO
 * providers (exact keys, prefixes, unregistering, info/names). */
#include <criterion/criterion.h>
#include <string.h>

#include "allium/core/mainloop/ctlbus.h"
#include "allium/lib/malloc/malloc.h"

static char got[4096];
static int n_got;

static void
sink(ctlev_type_t t, const char *msg, size_t len, void *arg)
{
  (void)t; (void)arg;
  cr_assert_lt(len, sizeof(got));
  memcpy(got, msg, len);
  got[len] = '\0';
  n_got++;
}

static void
reset(void)
{
  ctlev_set_sink(NULL, NULL);
  ctlinfo_reset();
  n_got = 0;
  got[0] = '\0';
}

TestSuite(ctlbus, .init = reset, .fini = reset);

Test(ctlbus, names_round_trip)
{
  for (int i = 0; i < CTLEV__COUNT; i++)
    cr_assert_eq(ctlev_from_name(ctlev_name((ctlev_type_t)i)), i);
  cr_assert_eq(ctlev_from_name("status_client"), CTLEV_STATUS_CLIENT);
  cr_assert_eq(ctlev_from_name("NOPE"), -1);
  cr_assert_str_eq(ctlev_name(CTLEV__COUNT), "UNKNOWN");
  cr_assert_lt(CTLEV__COUNT, 64);
}

Test(ctlbus, only_wanted_events_reach_the_sink)
{
  ctlev_set_mask(1u << CTLEV_CIRC);      /* no sink yet: mask stays 0 */
  cr_assert_not(ctlev_wanted(CTLEV_CIRC));
  ctlev_set_sink(sink, NULL);
  ctlev_set_mask(1u << CTLEV_CIRC);
  cr_assert(ctlev_wanted(CTLEV_CIRC));
  ctlev_publish(CTLEV_STREAM, "1 NEW 0 x:1");
  cr_assert_eq(n_got, 0);
  ctlev_publish(CTLEV_CIRC, "%d BUILT %s", 7, "$AA~a");
  cr_assert_eq(n_got, 1);
  cr_assert_str_eq(got, "650 CIRC 7 BUILT $AA~a\r\n");
  ctlev_set_sink(NULL, NULL);
  cr_assert_not(ctlev_wanted(CTLEV_CIRC));
}

Test(ctlbus, newlines_in_values_do_not_split_events)
{
  ctlev_set_sink(sink, NULL);
  ctlev_set_mask(1u << CTLEV_NOTICE);
  ctlev_publish(CTLEV_NOTICE, "a\r\n650 FAKE\nb");
  cr_assert_str_eq(got, "650 NOTICE a  650 FAKE b\r\n");
}

Test(ctlbus, long_events_are_not_truncated)
{
  ctlev_set_sink(sink, NULL);
  ctlev_set_mask(1u << CTLEV_WARN);
  char big[2000];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  ctlev_publish(CTLEV_WARN, "%s", big);
  cr_assert_eq(strlen(got), 4 + 4 + 1 + 1999 + 2);
  cr_assert_eq(strncmp(got, "650 WARN xxx", 12), 0);
}

static int
answer(const char *key, void *arg, char **out, const char **err)
{
  if (!strcmp(key, "ns/id/bad")) {
    *err = "not found";
    return CTLINFO_ERR;
  }
  *out = al_asprintf("%s:%s", (const char *)arg, key);
  return 0;
}

Test(ctlbus, getinfo_exact_and_prefix)
{
  char *a = NULL;
  const char *e = NULL;
  cr_assert_eq(ctlinfo_get("version", &a, &e), CTLINFO_UNKNOWN);
  cr_assert_eq(ctlinfo_register("version", answer, "v", "The version"), 0);
  cr_assert_eq(ctlinfo_register("ns/", answer, "ns", "Network status"), 0);
  cr_assert_eq(ctlinfo_register("ns/id/", answer, "id", "By id"), 0);
  cr_assert_eq(ctlinfo_get("VERSION", &a, &e), 0);
  cr_assert_str_eq(a, "v:VERSION");
  al_free(a);
  cr_assert_eq(ctlinfo_get("ns/id/AB", &a, &e), 0);
  cr_assert_str_eq(a, "id:ns/id/AB");          /* the longest prefix wins */
  al_free(a);
  cr_assert_eq(ctlinfo_get("ns/name/x", &a, &e), 0);
  cr_assert_str_eq(a, "ns:ns/name/x");
  al_free(a);
  cr_assert_eq(ctlinfo_get("ns/", &a, &e), CTLINFO_UNKNOWN);
  cr_assert_eq(ctlinfo_get("ns/id/bad", &a, &e), CTLINFO_ERR);
  cr_assert_str_eq(e, "not found");
  char *names = ctlinfo_names();
  cr_assert_str_eq(names, "ns/* -- Network status\nns/id/* -- By id\n"
                   "version -- The version");
  al_free(names);
  /* Unregistering the "id" provider leaves "ns/" to answer ns/id/... */
  ctlinfo_reset();
  cr_assert_eq(ctlinfo_register("ns/", answer, "ns", "Network status"), 0);
  static char idtag[] = "id";
  cr_assert_eq(ctlinfo_register("ns/id/", answer, idtag, "By id"), 0);
  ctlinfo_unregister(idtag);
  cr_assert_eq(ctlinfo_get("ns/id/AB", &a, &e), 0);
  cr_assert_str_eq(a, "ns:ns/id/AB");
  al_free(a);
}

static uint64_t closed_id;
static int
echo_cmd(uint64_t conn_id, const char *args, const char *data, void *arg,
         char **reply)
{
  (void)arg;
  if (!strcmp(args, "fail"))
    return -1;
  *reply = al_asprintf("250-%llu %s %s\r\n250 OK\r\n",
                       (unsigned long long)conn_id, args, data ? data : "-");
  return 0;
}

static void
on_closed(uint64_t id, void *arg)
{
  (void)arg;
  closed_id = id;
}

Test(ctlbus, commands_and_close_hooks)
{
  char *r = NULL;
  cr_assert_eq(ctlcmd_run("ECHO", 1, "", NULL, &r), 0);
  static char tag[] = "t";
  cr_assert_eq(ctlcmd_register("ECHO", echo_cmd, tag), 0);
  cr_assert_eq(ctlcmd_on_close(on_closed, tag), 0);
  cr_assert_eq(ctlcmd_run("echo", 7, "a b", "x\n", &r), 1);
  cr_assert_str_eq(r, "250-7 a b x\n\r\n250 OK\r\n");
  al_free(r);
  cr_assert_eq(ctlcmd_run("ECHO", 7, "fail", NULL, &r), 1);
  cr_assert_null(r);
  ctlcmd_conn_closed(42);
  cr_assert_eq(closed_id, 42);
  ctlcmd_unregister(tag);
  cr_assert_eq(ctlcmd_run("ECHO", 7, "", NULL, &r), 0);
  closed_id = 0;
  ctlcmd_conn_closed(43);
  cr_assert_eq(closed_id, 0);
}

static int
who_asks(const char *key, void *arg, char **out, const char **err)
{
  (void)key; (void)arg; (void)err;
  *out = al_asprintf("%llu", (unsigned long long)ctlinfo_conn_id());
  return 0;
}

Test(ctlbus, getinfo_knows_the_asking_connection)
{
  char *a = NULL;
  const char *e = NULL;
  cr_assert_eq(ctlinfo_register("onions/current", who_asks, NULL, "x"), 0);
  ctlinfo_set_conn_id(17);
  cr_assert_eq(ctlinfo_get("onions/current", &a, &e), 0);
  cr_assert_str_eq(a, "17");
  al_free(a);
  ctlinfo_set_conn_id(0);
  cr_assert_eq(ctlinfo_conn_id(), 0);
}
