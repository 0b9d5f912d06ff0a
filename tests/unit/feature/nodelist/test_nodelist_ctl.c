/* test_nodelist_ctl.c -- the peer database on the control bus
 * (src/feature/nodelist/nodelist_ctl.c; control-spec 3.9 GETINFO ns/..., md/...,
 * consensus/...; 4.1 NEWDESC, NS, NEWCONSENSUS): answers compared with
 * the router status entries of tor 0.4.9's consensuses
 * (tests/unit/feature/dirparse/data), unknown and malformed keys, event
 * framing and dot-stuffing, nothing published without a listener. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "allium/core/mainloop/ctlbus.h"
#include "allium/feature/nodelist/nodelist.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"
#include "feature/nodelist/nodelist_internal.h"

static char *
read_data(const char *name, size_t *len)
{
  char *path = al_asprintf("%s/tests/unit/feature/dirparse/data/%s", ALLIUM_SRCDIR, name);
  char *text = NULL;
  int r = fs_read_file(path, &text, len, 1 << 20);
  al_free(path);
  cr_assert_eq(r, 0, "reading %s", name);
  return text;
}

static consensus_t *
load_consensus(const char *name)
{
  size_t len;
  char *text = read_data(name, &len);
  consensus_t *c = NULL;
  netdoc_err_t err;
  cr_assert_eq(consensus_parse(text, len, &c, &err), 0);
  al_free(text);
  return c;
}

/* The router status entries of a consensus file: its lines from the
 * first "r " up to "directory-footer", without "m" lines, and without
 * the last "\n". */
static char *
entries_of(const char *name)
{
  size_t len;
  char *text = read_data(name, &len);
  char *start = strstr(text, "\nr ");
  char *end = strstr(text, "\ndirectory-footer");
  cr_assert(start && end && start < end);
  char *out = al_calloc(1, (size_t)(end - start) + 1);
  size_t o = 0;
  for (char *p = start + 1; p <= end;) {
    char *nl = strchr(p, '\n');
    if (strncmp(p, "m ", 2)) {
      memcpy(out + o, p, (size_t)(nl - p) + 1);
      o += (size_t)(nl - p) + 1;
    }
    p = nl + 1;
  }
  if (o)
    out[o - 1] = '\0';
  al_free(text);
  return out;
}

/* The entry of nickname nick within entries (a new string). */
static char *
entry_named(const char *entries, const char *nick)
{
  char pat[64];
  snprintf(pat, sizeof(pat), "r %s ", nick);
  const char *s = strncmp(entries, pat, strlen(pat)) ? NULL : entries;
  if (!s) {
    snprintf(pat, sizeof(pat), "\nr %s ", nick);
    s = strstr(entries, pat);
    cr_assert_not_null(s);
    s++;
  }
  const char *e = strstr(s, "\nr ");
  size_t n = e ? (size_t)(e - s) : strlen(s);
  char *out = al_calloc(1, n + 1);
  memcpy(out, s, n);
  return out;
}

static char *
get_ok(const char *key)
{
  char *ans = NULL;
  const char *err = NULL;
  int r = ctlinfo_get(key, &ans, &err);
  cr_assert_eq(r, 0, "%s: %d %s", key, r, err ? err : "");
  cr_assert_not_null(ans);
  return ans;
}

static int
get_code(const char *key)
{
  char *ans = NULL;
  const char *err = NULL;
  int r = ctlinfo_get(key, &ans, &err);
  if (r == CTLINFO_ERR)
    cr_assert_not_null(err, "%s", key);
  al_free(ans);
  return r;
}

/* Events received by the test sink. */
static char *events[16];
static ctlev_type_t ev_types[16];
static size_t n_events;

static void
sink(ctlev_type_t t, const char *msg, size_t len, void *arg)
{
  (void)arg;
  cr_assert_lt(n_events, 16);
  events[n_events] = al_calloc(1, len + 1);
  memcpy(events[n_events], msg, len);
  ev_types[n_events++] = t;
}

static void
clear_events(void)
{
  for (size_t i = 0; i < n_events; i++)
    al_free(events[i]);
  n_events = 0;
}

static void
fini(void)
{
  clear_events();
  ctlev_set_sink(NULL, NULL);
  ctlinfo_reset();
}

TestSuite(nodelist_ctl, .fini = fini);

Test(nodelist_ctl, ns_entries_match_the_consensus)
{
  nodelist_t *nl = nodelist_new();
  nodelist_ctl_attach(nl);
  /* no consensus yet */
  char *ans = get_ok("ns/all");
  cr_assert_str_eq(ans, "");
  al_free(ans);
  cr_assert_eq(get_code("consensus/valid-after"), CTLINFO_ERR);
  cr_assert_eq(get_code("ns/name/exit0"), CTLINFO_UNKNOWN);

  cr_assert_eq(nodelist_set_consensus(nl, load_consensus("consensus-ns.txt")), 0);
  char *want = entries_of("consensus-ns.txt");
  ans = get_ok("ns/all");
  cr_assert_str_eq(ans, want);
  al_free(ans);

  char *exit0 = entry_named(want, "exit0");
  char fp[41];
  node_format_rsa_id(nodelist_find_by_nickname(nl, "exit0")->rsa_id, fp);
  const char *pre[] = { "$", "", "$", "" };
  const char *post[] = { "", "", "~exit0", "=exit0" };
  for (size_t i = 0; i < 4; i++) {
    char key[80];
    snprintf(key, sizeof(key), "ns/id/%s%s%s", pre[i], fp, post[i]);
    ans = get_ok(key);
    cr_assert_str_eq(ans, exit0, "%s", key);
    al_free(ans);
  }
  for (char *p = fp; *p; p++)   /* lower-case hex too */
    if (*p >= 'A' && *p <= 'F')
      *p = (char)(*p - 'A' + 'a');
  char key[80];
  snprintf(key, sizeof(key), "ns/id/%s", fp);
  ans = get_ok(key);
  cr_assert_str_eq(ans, exit0);
  al_free(ans);
  ans = get_ok("ns/name/EXIT0");
  cr_assert_str_eq(ans, exit0);
  al_free(ans);
  al_free(exit0);
  al_free(want);

  ans = get_ok("consensus/valid-after");
  cr_assert_str_eq(ans, "2026-11-24 03:54:20");
  al_free(ans);
  ans = get_ok("consensus/fresh-until");
  cr_assert_str_eq(ans, "2026-11-24 03:54:40");
  al_free(ans);
  ans = get_ok("consensus/valid-until");
  cr_assert_str_eq(ans, "2026-11-24 03:55:00");
  al_free(ans);
  cr_assert_eq(get_code("dir/status-vote/current/consensus"), CTLINFO_ERR);
  /* ns flavour: no microdescriptors */
  ans = get_ok("md/all");
  cr_assert_str_eq(ans, "");
  al_free(ans);
  cr_assert_eq(get_code("md/name/exit0"), CTLINFO_ERR);
  nodelist_free(nl);   /* detaches */
  cr_assert_eq(get_code("ns/all"), CTLINFO_UNKNOWN);
}

Test(nodelist_ctl, unknown_and_malformed_ids)
{
  nodelist_t *nl = nodelist_new();
  nodelist_ctl_attach(nl);
  nodelist_set_consensus(nl, load_consensus("consensus-ns.txt"));
  /* unknown relay: 552 as tor */
  cr_assert_eq(get_code("ns/id/$0000000000000000000000000000000000000000"),
               CTLINFO_UNKNOWN);
  cr_assert_eq(get_code("md/id/0000000000000000000000000000000000000000"),
               CTLINFO_UNKNOWN);
  cr_assert_eq(get_code("ns/name/nobody"), CTLINFO_UNKNOWN);
  cr_assert_eq(get_code("md/name/"), CTLINFO_UNKNOWN);   /* bus: no name */
  cr_assert_eq(get_code("ns/id/"), CTLINFO_UNKNOWN);
  /* malformed: 551 */
  const char *bad[] = {
    "ns/id/$", "ns/id/XYZ", "ns/id/$00000000000000000000000000000000000000",
    "ns/id/000000000000000000000000000000000000000000",   /* 42 digits */
    "ns/id/00000000000000000000000000000000000000G0", "md/id/~exit0",
    "ns/id/$0000000000000000000000000000000000000000000000000000000000000000000000000000",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    cr_assert_eq(get_code(bad[i]), CTLINFO_ERR, "%s", bad[i]);
  /* a long junk key must not overflow anything */
  char big[4096];
  memcpy(big, "ns/name/", 8);
  memset(big + 8, 'x', sizeof(big) - 9);
  big[sizeof(big) - 1] = '\0';
  cr_assert_eq(get_code(big), CTLINFO_UNKNOWN);
  nodelist_ctl_detach(nl);
  nodelist_ctl_detach(nl);   /* twice is fine */
  cr_assert_eq(get_code("ns/name/exit0"), CTLINFO_UNKNOWN);
  nodelist_free(nl);
}

Test(nodelist_ctl, microdesc_flavour)
{
  nodelist_t *nl = nodelist_new();
  nodelist_ctl_attach(nl);
  nodelist_set_consensus(nl, load_consensus("consensus-md.txt"));
  const consensus_t *c = nodelist_get_consensus(nl);
  char *want = entries_of("consensus-md.txt");
  char *ans = get_ok("ns/all");
  /* The same lines, but each "r" line carries the first 20 bytes of the
   * microdescriptor digest after the identity (8 fields, as tor). */
  cr_assert_neq(strcmp(ans, want), 0);
  for (size_t i = 0; i < c->n_routers; i++) {
    const consensus_router_t *r = &c->routers[i];
    char key[64], d[32], *ent, *wantent;
    snprintf(key, sizeof(key), "ns/name/%s", r->nickname);
    ent = get_ok(key);
    wantent = entry_named(want, r->nickname);
    cr_assert_eq(base64_encode(d, sizeof(d), r->md_digest, 20, BASE64_FLAG_NOPAD), 27);
    /* want: "r nick id date ..." -> "r nick id digest date ..." */
    const char *sp = strchr(strchr(wantent + 2, ' ') + 1, ' ');
    char *expect = al_asprintf("%.*s %s%s", (int)(sp - wantent), wantent, d, sp);
    cr_assert_str_eq(ent, expect);
    cr_assert_not_null(strstr(ans, expect));
    al_free(expect);
    al_free(wantent);
    al_free(ent);
  }
  al_free(ans);
  al_free(want);
  /* microdescriptors: not yet, then the text as fetched */
  cr_assert_eq(get_code("md/name/exit0"), CTLINFO_ERR);
  size_t len;
  char *text = read_data("microdescs.txt", &len);
  microdesc_t **mds = NULL;
  size_t n = 0;
  netdoc_err_t err;
  cr_assert_eq(microdesc_parse_batch(text, len, &mds, &n, &err), 0);
  al_free(text);
  cr_assert_eq(nodelist_add_microdescs(nl, mds, n), 4);
  ans = get_ok("md/name/exit0");
  cr_assert_eq(strncmp(ans, "onion-key\n", 10), 0, "%s", ans);
  cr_assert_not_null(strstr(ans, "ntor-onion-key "));
  cr_assert_null(strstr(ans, "@last-listed"));
  char fp[41];
  node_format_rsa_id(nodelist_find_by_nickname(nl, "exit0")->rsa_id, fp);
  char key[64];
  snprintf(key, sizeof(key), "md/id/$%s", fp);
  char *byid = get_ok(key);
  cr_assert_str_eq(byid, ans);
  al_free(byid);
  char *all = get_ok("md/all");
  cr_assert_not_null(strstr(all, ans));
  size_t count = 0;
  for (const char *p = all; (p = strstr(p, "ntor-onion-key ")); p++)
    count++;
  cr_assert_eq(count, 4);
  al_free(all);
  al_free(ans);
  nodelist_free(nl);
}

static uint64_t
bit(ctlev_type_t t)
{
  return 1ull << (unsigned)t;
}

/* Every line of a multi-line event ends in CRLF and none has a bare LF. */
static void
check_framing(const char *ev, const char *name)
{
  char head[64];
  snprintf(head, sizeof(head), "650+%s\r\n", name);
  cr_assert_eq(strncmp(ev, head, strlen(head)), 0, "%s", ev);
  size_t n = strlen(ev);
  cr_assert_geq(n, 11);
  cr_assert_str_eq(ev + n - 11, ".\r\n650 OK\r\n");
  for (size_t i = 0; i < n; i++)
    if (ev[i] == '\n')
      cr_assert(i > 0 && ev[i - 1] == '\r', "bare LF at %zu", i);
}

Test(nodelist_ctl, events)
{
  ctlev_set_sink(sink, NULL);
  nodelist_t *nl = nodelist_new();
  nodelist_ctl_attach(nl);
  /* no listener: nothing */
  ctlev_set_mask(0);
  nodelist_set_consensus(nl, load_consensus("consensus-md.txt"));
  cr_assert_eq(n_events, 0);

  ctlev_set_mask(bit(CTLEV_NS) | bit(CTLEV_NEWCONSENSUS) | bit(CTLEV_NEWDESC));
  nodelist_set_consensus(nl, load_consensus("consensus-md.txt"));
  /* same entries: no NS, one NEWCONSENSUS with every entry */
  cr_assert_eq(n_events, 1);
  cr_assert_eq(ev_types[0], CTLEV_NEWCONSENSUS);
  check_framing(events[0], "NEWCONSENSUS");
  char *all = get_ok("ns/all");
  size_t len;
  char *framed = nodelist_ctl_frame_event("NEWCONSENSUS", all, &len);
  cr_assert_str_eq(events[0], framed);
  al_free(framed);
  al_free(all);
  clear_events();

  /* a changed entry (flags) gives an NS event with that entry only */
  consensus_t *c2 = load_consensus("consensus-md.txt");
  c2->routers[1].flags &= ~CONSENSUS_FLAG_STABLE;
  nodelist_set_consensus(nl, c2);
  cr_assert_eq(n_events, 2);
  cr_assert_eq(ev_types[0], CTLEV_NS);
  check_framing(events[0], "NS");
  size_t nr = 0;
  for (const char *p = events[0]; (p = strstr(p, "\r\nr ")); p++)
    nr++;
  cr_assert_eq(nr, 1, "%s", events[0]);
  cr_assert_not_null(strstr(events[0], nodelist_get_consensus(nl)->routers[1].nickname));
  cr_assert_eq(ev_types[1], CTLEV_NEWCONSENSUS);
  clear_events();

  /* microdescriptors: one NEWDESC naming each "$FP~nick" */
  size_t tlen;
  char *text = read_data("microdescs.txt", &tlen);
  microdesc_t **mds = NULL;
  size_t n = 0;
  netdoc_err_t err;
  cr_assert_eq(microdesc_parse_batch(text, tlen, &mds, &n, &err), 0);
  al_free(text);
  cr_assert_eq(nodelist_add_microdescs(nl, mds, n), 4);
  cr_assert_eq(n_events, 1);
  cr_assert_eq(ev_types[0], CTLEV_NEWDESC);
  cr_assert_eq(strncmp(events[0], "650 NEWDESC $", 13), 0, "%s", events[0]);
  for (size_t i = 0; i < nodelist_n_nodes(nl); i++) {
    const node_t *nd = nodelist_get_node(nl, i);
    char fp[41], want[80];
    node_format_rsa_id(nd->rsa_id, fp);
    snprintf(want, sizeof(want), "$%s~%s", fp, nd->nickname);
    cr_assert_not_null(strstr(events[0], want), "%s", want);
  }
  cr_assert_str_eq(events[0] + strlen(events[0]) - 2, "\r\n");
  clear_events();
  /* an unwanted microdescriptor: no event */
  cr_assert_eq(nodelist_add_microdescs(nl, NULL, 0), 0);
  cr_assert_eq(n_events, 0);

  /* detached: no events */
  nodelist_ctl_detach(nl);
  nodelist_set_consensus(nl, load_consensus("consensus-md.txt"));
  cr_assert_eq(n_events, 0);
  nodelist_free(nl);
}

Test(nodelist_ctl, deferred_newdesc_is_one_event)
{
  ctlev_set_sink(sink, NULL);
  nodelist_t *nl = nodelist_new();
  nodelist_ctl_attach(nl);
  nodelist_set_consensus(nl, load_consensus("consensus-md.txt"));
  ctlev_set_mask(bit(CTLEV_NEWDESC));
  size_t tlen;
  char *text = read_data("microdescs.txt", &tlen);
  microdesc_t **mds = NULL;
  size_t n = 0;
  netdoc_err_t err;
  cr_assert_eq(microdesc_parse_batch(text, tlen, &mds, &n, &err), 0);
  al_free(text);
  nodelist_ctl_defer(nl, true);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(nodelist_add_microdesc(nl, mds[i]), 0);
  al_free(mds);
  cr_assert_eq(n_events, 0);
  nodelist_ctl_defer(nl, false);
  cr_assert_eq(n_events, 1);
  size_t names = 0;
  for (const char *p = events[0]; (p = strchr(p, '$')); p++)
    names++;
  cr_assert_eq(names, 4, "%s", events[0]);
  nodelist_ctl_defer(nl, false);   /* nothing left */
  cr_assert_eq(n_events, 1);
  nodelist_free(nl);
}

Test(nodelist_ctl, consensus_text)
{
  nodelist_t *nl = nodelist_new();
  nodelist_ctl_attach(nl);
  size_t len;
  char *text = read_data("consensus-ns.txt", &len);
  nodelist_ctl_set_consensus_text(nl, text, len);   /* no consensus yet */
  cr_assert_eq(get_code("dir/status-vote/current/consensus"), CTLINFO_ERR);
  nodelist_set_consensus(nl, load_consensus("consensus-ns.txt"));
  cr_assert_eq(get_code("dir/status-vote/current/consensus"), CTLINFO_ERR);
  nodelist_ctl_set_consensus_text(nl, text, len);
  char *ans = get_ok("dir/status-vote/current/consensus");
  cr_assert_eq(strlen(ans), len - 1);   /* without the last newline */
  cr_assert_eq(memcmp(ans, text, len - 1), 0);
  al_free(ans);
  /* a new consensus forgets the old text */
  nodelist_set_consensus(nl, load_consensus("consensus-ns.txt"));
  cr_assert_eq(get_code("dir/status-vote/current/consensus"), CTLINFO_ERR);
  al_free(text);
  nodelist_free(nl);
}

Test(nodelist_ctl, frame_dot_stuffing)
{
  size_t len;
  char *f = nodelist_ctl_frame_event("NS", ".a\nb\n..c\n.\nd", &len);
  cr_assert_str_eq(f, "650+NS\r\n..a\r\nb\r\n...c\r\n..\r\nd\r\n.\r\n650 OK\r\n");
  cr_assert_eq(len, strlen(f));
  al_free(f);
  f = nodelist_ctl_frame_event("NEWCONSENSUS", "", &len);
  cr_assert_str_eq(f, "650+NEWCONSENSUS\r\n.\r\n650 OK\r\n");
  al_free(f);
  f = nodelist_ctl_frame_event("NS", "x\n", &len);
  cr_assert_str_eq(f, "650+NS\r\nx\r\n.\r\n650 OK\r\n");
  al_free(f);
}
