/* test_confdecl.c -- typed option tables on a test struct: defaults,
 * override rules (tor(1): later lines win, lists accumulate, the command
 * line replaces the file's lists, +Key appends, /Key clears), errors with
 * suggestions, dump round trip, copy, list. */
#include <criterion/criterion.h>

#include "allium/lib/conf/confdecl.h"
#include "allium/lib/malloc/malloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_opts_t {
  char *Name;
  char *Path;
  int Flag;
  int Auto;
  int Count;
  int Port;
  uint64_t Big;
  int Wait;
  int WaitMs;
  uint64_t Mem;
  char **Items;
  config_line_t *Lines;
  config_line_t *Ports;
  char *Where;
  int Mode;
  char *Secret;
  config_line_t *Group;
} test_opts_t;

static const char *const modes[] = { "off", "on", "relay", NULL };

#define R(n, t, d, mn, mx) \
  { #n, CONF_TYPE_##t, offsetof(test_opts_t, n), d, "doc of " #n, mn, mx, \
    NULL, 0 }
static const conf_var_t vars[] = {
  R(Name, STRING, "anon", 0, 0),
  R(Path, FILENAME, NULL, 0, 0),
  R(Flag, BOOL, "1", 0, 0),
  R(Auto, AUTOBOOL, "auto", 0, 0),
  R(Count, INT, "5", 1, 10),
  R(Port, PORT, "9050", 0, 0),
  R(Big, UINT64, "0", 0, 0),
  R(Wait, INTERVAL, "10 minutes", 0, 0),
  R(WaitMs, MSEC_INTERVAL, "500 msec", 0, 0),
  R(Mem, MEMORY, "1 GB", 0, 0),
  R(Items, CSV, "a,b", 0, 0),
  R(Lines, LINELIST, NULL, 0, 0),
  R(Ports, PORTLIST, "9050", 0, 0),
  R(Where, ADDRPORT, NULL, 0, 0),
  { "Mode", CONF_TYPE_CHOICE, offsetof(test_opts_t, Mode), "on", "mode", 0,
    0, modes, 0 },
  { "Secret", CONF_TYPE_STRING, offsetof(test_opts_t, Secret), NULL, "s", 0,
    0, NULL, CONF_FLAG_SENSITIVE },
  { "GroupA", CONF_TYPE_LINELIST, offsetof(test_opts_t, Group), NULL, "g", 0,
    0, NULL, 0 },
  { "GroupB", CONF_TYPE_LINELIST, offsetof(test_opts_t, Group), NULL, "g", 0,
    0, NULL, 0 },
};
static const conf_alias_t aliases[] = { { "Nom", "Name" } };
static const char *const ignored[] = { "SomeTorOption", "OtherOne" };
static const conf_format_t fmt = {
  sizeof(test_opts_t), vars, sizeof(vars) / sizeof(vars[0]), aliases, 1,
  ignored, 2,
};

static test_opts_t o;

static void
setup(void)
{
  conf_init(&fmt, &o);
}

static void
teardown(void)
{
  conf_clear(&fmt, &o);
}

/* Apply text; returns the error (caller frees) or NULL. */
static char *
apply(const char *text, int cmdline, config_line_t **ign)
{
  config_line_t *l = NULL;
  char *err = NULL;
  cr_assert_eq(confline_parse_text(text, strlen(text), "f", &l, &err), 0);
  for (config_line_t *p = l; p; p = p->next)
    p->from_cmdline = cmdline;
  int r = conf_apply_lines(&fmt, &o, l, ign, &err);
  confline_free(l);
  cr_assert_eq(r == 0, err == NULL);
  return err;
}

TestSuite(confdecl, .init = setup, .fini = teardown);

Test(confdecl, defaults)
{
  cr_assert_str_eq(o.Name, "anon");
  cr_assert_null(o.Path);
  cr_assert_eq(o.Flag, 1);
  cr_assert_eq(o.Auto, -1);
  cr_assert_eq(o.Count, 5);
  cr_assert_eq(o.Port, 9050);
  cr_assert_eq(o.Wait, 600);
  cr_assert_eq(o.WaitMs, 500);
  cr_assert_eq(o.Mem, 1073741824ULL);
  cr_assert_str_eq(o.Items[0], "a");
  cr_assert_str_eq(o.Items[1], "b");
  cr_assert_null(o.Items[2]);
  cr_assert_str_eq(o.Ports->value, "9050");
  cr_assert_eq(o.Mode, 1);
  char *d = conf_dump(&fmt, &o, 1);
  cr_assert_str_eq(d, "");
  al_free(d);
}

Test(confdecl, set_every_type)
{
  char *e = apply("name Bob\nPath /x y\nFlag 0\nAuto 1\nCount 10\n"
                  "Port auto\nBig 18446744073709551615\nWait 2 hours\n"
                  "WaitMs 3 seconds\nMem 64 KB\nItems x , y,,z\n"
                  "Where [::1]:80\nMode RELAY\n", 0, NULL);
  cr_assert_null(e, "%s", e);
  cr_assert_str_eq(o.Name, "Bob");
  cr_assert_str_eq(o.Path, "/x y");
  cr_assert_eq(o.Flag, 0);
  cr_assert_eq(o.Auto, 1);
  cr_assert_eq(o.Count, 10);
  cr_assert_eq(o.Port, -1);
  cr_assert_eq(o.Big, UINT64_MAX);
  cr_assert_eq(o.Wait, 7200);
  cr_assert_eq(o.WaitMs, 3000);
  cr_assert_eq(o.Mem, 65536);
  cr_assert_str_eq(o.Items[2], "z");
  cr_assert_null(o.Items[3]);
  cr_assert_eq(o.Mode, 2);
  char *d = conf_dump(&fmt, &o, 1);
  cr_assert_str_eq(d, "Name Bob\nPath /x y\nFlag 0\nAuto 1\nCount 10\n"
                   "Port auto\nBig 18446744073709551615\nWait 2 hours\n"
                   "WaitMs 3 seconds\nMem 64 KB\nItems x,y,z\n"
                   "Where [::1]:80\nMode relay\n");
  /* The dump reads back to the same values. */
  test_opts_t o2;
  conf_init(&fmt, &o2);
  config_line_t *l = NULL;
  cr_assert_eq(confline_parse_text(d, strlen(d), "d", &l, &e), 0);
  cr_assert_eq(conf_apply_lines(&fmt, &o2, l, NULL, &e), 0);
  char *d2 = conf_dump(&fmt, &o2, 0), *d1 = conf_dump(&fmt, &o, 0);
  cr_assert_str_eq(d1, d2);
  confline_free(l);
  conf_clear(&fmt, &o2);
  al_free(d);
  al_free(d1);
  al_free(d2);
}

Test(confdecl, errors_name_option_value_expectation)
{
  struct { const char *in, *want; } bad[] = {
    { "Flag yes", "f:1: Option 'Flag': \"yes\" is not a boolean (expected 0 "
      "or 1)" },
    { "Count 11", "Option 'Count': \"11\" is out of range (expected 1 to 10)" },
    { "Count 0", "expected 1 to 10" },
    { "Port 65536", "Option 'Port': \"65536\" is not a port" },
    { "Wait soon", "Option 'Wait': \"soon\" is not an interval" },
    { "Wait 10000 weeks", "out of range" },
    { "Mem lots", "Option 'Mem': \"lots\" is not a memory size" },
    { "Ports 70000", "Option 'Ports': \"70000\" is not a port (expected "
      "0-65535 or \"auto\")" },
    { "Where nowhere", "Option 'Where': \"nowhere\" is not an address:port" },
    { "Mode maybe", "\"maybe\" is not valid (expected one of: off, on, "
      "relay)" },
    { "\nNmae x", "f:2: Unknown option 'Nmae'. Did you mean 'Name'?" },
    { "SomeTorOptoin 1", "Did you mean 'SomeTorOption'?" },
    { "Qwertyuiop 1", "Unknown option 'Qwertyuiop'." },
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *e = apply(bad[i].in, 0, NULL);
    cr_assert_not_null(e, "accepted %s", bad[i].in);
    cr_assert(strstr(e, bad[i].want), "%s: got %s", bad[i].in, e);
    al_free(e);
  }
  char *e = apply("Qwertyuiop 1", 0, NULL);
  cr_assert_null(strstr(e, "Did you mean"));
  al_free(e);
}

Test(confdecl, later_wins_lists_accumulate)
{
  char *e = apply("Name a\nLines 1\nName b\nLines 2\nPorts 1\nPorts 2\n", 0,
                  NULL);
  cr_assert_null(e);
  cr_assert_str_eq(o.Name, "b");
  cr_assert_eq(confline_count(o.Lines), 2);
  cr_assert_str_eq(o.Lines->next->value, "2");
  cr_assert_eq(o.Lines->lineno, 2);
  /* Ports replaced its default, then accumulated. */
  cr_assert_eq(confline_count(o.Ports), 2);
  cr_assert_str_eq(o.Ports->value, "1");
  /* A second batch (e.g. the command line) replaces a list... */
  e = apply("Lines 3\nLines 4\n", 1, NULL);
  cr_assert_null(e);
  cr_assert_eq(confline_count(o.Lines), 2);
  cr_assert_str_eq(o.Lines->value, "3");
  /* ...unless it appends, and /Key clears to the default. */
  e = apply("+Lines 5\n/Ports\n", 1, NULL);
  cr_assert_null(e);
  cr_assert_eq(confline_count(o.Lines), 3);
  cr_assert_eq(confline_count(o.Ports), 1);
  cr_assert_str_eq(o.Ports->value, "9050");
  /* an empty value resets a list to its default, replaced by a later SET */
  e = apply("Ports 7\nPorts\n", 0, NULL);
  cr_assert_null(e);
  cr_assert_eq(confline_count(o.Ports), 1);
  cr_assert_str_eq(o.Ports->value, "9050");
  e = apply("Ports\nPorts 8\n/Ports\nPorts 9\n", 0, NULL);
  cr_assert_null(e);
  cr_assert_eq(confline_count(o.Ports), 1);
  cr_assert_str_eq(o.Ports->value, "9");
  /* long lists append in linear time */
  size_t n = 50000;
  char *big = al_malloc(n * 8 + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(big + i * 8, "Lines x\n", 8);
  big[n * 8] = '\0';
  e = apply(big, 0, NULL);
  cr_assert_null(e);
  cr_assert_eq(confline_count(o.Lines), n);
  al_free(big);
  /* an empty value resets a scalar to its default */
  e = apply("Name\nCount\n", 0, NULL);
  cr_assert_null(e);
  cr_assert_str_eq(o.Name, "anon");
  cr_assert_eq(o.Count, 5);
}

Test(confdecl, aliases_case_ignored)
{
  config_line_t *ign = NULL;
  char *e = apply("NOM x\nsometoroption 1\nOtherOne 2\nSOMETOROPTION 3\n", 0,
                  &ign);
  cr_assert_null(e);
  cr_assert_str_eq(o.Name, "x");
  cr_assert_eq(confline_count(ign), 2);
  cr_assert_str_eq(ign->key, "SomeTorOption");
  cr_assert_str_eq(ign->next->key, "OtherOne");
  confline_free(ign);
  cr_assert_str_eq(conf_find_var(&fmt, "nAmE")->name, "Name");
  cr_assert_null(conf_find_var(&fmt, "SomeTorOption"));
}

Test(confdecl, grouped_lists_keep_order)
{
  char *e = apply("GroupA a1\nGroupB b1\nGroupA a2\n", 0, NULL);
  cr_assert_null(e);
  cr_assert_eq(confline_count(o.Group), 3);
  cr_assert_str_eq(o.Group->next->key, "GroupB");
  char *d = conf_dump(&fmt, &o, 1);
  cr_assert_str_eq(d, "GroupA a1\nGroupB b1\nGroupA a2\n");
  al_free(d);
}

Test(confdecl, dump_quotes_and_hides)
{
  char *e = apply("Name \" lead#hash\\n\"\nSecret hunter2\n", 0, NULL);
  cr_assert_null(e, "%s", e);
  char *d = conf_dump(&fmt, &o, 1);
  cr_assert_str_eq(d, "Name \" lead#hash\\n\"\n# Secret [hidden]\n");
  cr_assert_null(strstr(d, "hunter2"));
  al_free(d);
}

Test(confdecl, copy_is_deep)
{
  char *e = apply("Lines x\nItems p,q\nPath /p\n", 0, NULL);
  cr_assert_null(e);
  test_opts_t c;
  conf_copy(&fmt, &c, &o);
  cr_assert_neq(c.Lines, o.Lines);
  cr_assert_neq(c.Items, o.Items);
  cr_assert_str_eq(c.Items[1], "q");
  cr_assert_str_eq(c.Path, "/p");
  conf_clear(&fmt, &c);
}

Test(confdecl, edit_distance_and_suggest)
{
  cr_assert_eq(conf_edit_distance("", ""), 0);
  cr_assert_eq(conf_edit_distance("abc", "ABC"), 0);
  cr_assert_eq(conf_edit_distance("kitten", "sitting"), 3);
  cr_assert_eq(conf_edit_distance("", "abc"), 3);
  cr_assert_str_eq(conf_suggest(&fmt, "prot"), "Port");
  cr_assert_null(conf_suggest(&fmt, ""));
  char longname[200];
  memset(longname, 'x', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  cr_assert_null(conf_suggest(&fmt, longname));
}

Test(confdecl, set_value_and_list)
{
  char *e = NULL;
  cr_assert_eq(conf_set_value(&fmt, &o, conf_find_var(&fmt, "Count"), "7",
                              &e), 0);
  cr_assert_eq(o.Count, 7);
  cr_assert_eq(conf_set_value(&fmt, &o, conf_find_var(&fmt, "Count"), "x",
                              &e), -1);
  cr_assert(strstr(e, "Option 'Count'"));
  al_free(e);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  conf_print_list(&fmt, f);
  fclose(f);
  cr_assert(strstr(buf, "Wait"));
  cr_assert(strstr(buf, "Interval"));
  cr_assert(strstr(buf, "10 minutes"));
  cr_assert(strstr(buf, "doc of Wait"));
  free(buf);
}

/* CONF_FLAG_REFUSED: conf_refused_names() names every refused option that
 * differs from its default, in table order; a shared list names each
 * distinct option among its lines. */
typedef struct refused_opts_t {
  int On;
  int Off;
  char *Str;
  config_line_t *List;
  config_line_t *Shared;
  char **Csv;
} refused_opts_t;

#define RF(n, t, d) \
  { #n, CONF_TYPE_##t, offsetof(refused_opts_t, n), d, "d", 0, 0, NULL, \
    CONF_FLAG_REFUSED }
static const conf_var_t refused_vars[] = {
  RF(On, BOOL, "1"),
  RF(Off, BOOL, "0"),
  { "Str", CONF_TYPE_STRING, offsetof(refused_opts_t, Str), NULL, "d", 0, 0,
    NULL, CONF_FLAG_REFUSED | CONF_FLAG_SENSITIVE },
  { "Fine", CONF_TYPE_LINELIST, offsetof(refused_opts_t, List), NULL, "d", 0,
    0, NULL, 0 },
  { "SharedA", CONF_TYPE_LINELIST, offsetof(refused_opts_t, Shared), NULL,
    "d", 0, 0, NULL, CONF_FLAG_REFUSED },
  { "SharedB", CONF_TYPE_LINELIST, offsetof(refused_opts_t, Shared), NULL,
    "d", 0, 0, NULL, CONF_FLAG_REFUSED },
  RF(Csv, CSV, "x,y"),
};
static const conf_format_t refused_fmt = {
  sizeof(refused_opts_t), refused_vars,
  sizeof(refused_vars) / sizeof(refused_vars[0]), NULL, 0, NULL, 0,
};

static char *
refused_after(const char *text)
{
  refused_opts_t r;
  config_line_t *lines = NULL;
  char *err = NULL;
  conf_init(&refused_fmt, &r);
  cr_assert_eq(confline_parse_string(text, "t", &lines, &err), 0, "%s", err);
  cr_assert_eq(conf_apply_lines(&refused_fmt, &r, lines, NULL, &err), 0,
               "%s", err ? err : "");
  char *names = conf_refused_names(&refused_fmt, &r);
  confline_free(lines);
  conf_clear(&refused_fmt, &r);
  return names;
}

Test(confdecl, refused_names)
{
  cr_assert_null(refused_after(""));
  /* explicit defaults, unrefused options, and a reset: nothing refused */
  cr_assert_null(refused_after("On 1\nOff 0\nFine x\nCsv x, y\nStr s\nStr\n"));
  char *n = refused_after("Off 1\n");
  cr_assert_str_eq(n, "Off");
  al_free(n);
  n = refused_after("SharedB 1\nOn 0\nSharedA 2\nSharedB 3\nStr hunter2\n"
                    "Csv z\nFine q\n");
  cr_assert_str_eq(n, "On, Str, SharedB, SharedA, Csv");
  cr_assert_null(strstr(n, "hunter2"));
  al_free(n);
  /* the later line wins: set, then back to the default */
  cr_assert_null(refused_after("Off 1\nOff 0\n"));
  cr_assert_null(refused_after("SharedA 1\n/SharedA\n"));
}
