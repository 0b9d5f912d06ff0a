/* guards_state.c -- the "Guard" lines of tor's state file (guard-spec A.5):
 * space-separated K=V fields, order free, unknown fields kept verbatim,
 * dates as ISO 8601 "YYYY-MM-DDTHH:MM:SS" in UTC.  Malformed lines are
 * refused with a warning.  Writing replaces the Guard lines of the file
 * atomically and keeps every other line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_MODULE "guards"
#include "allium/feature/pathsel/guards.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/encoding/binascii.h"
#include "allium/lib/log/log.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"
#include "guards_internal.h"

#define STATE_MAX_SIZE (16u << 20)
#define GUARD_LINE_MAX 4096

/* "YYYY-MM-DDTHH:MM:SS" exactly (guard-spec A.5).  0 or -1. */
static int
parse_iso_time(const char *s, time_t *out)
{
  return civil_parse_iso(s, 'T', out);
}

static void
format_iso_time(time_t t, char buf[32])
{
  civil_format_iso(t, 'T', buf);
}

static int
parse_hex20(const char *s, uint8_t out[20])
{
  return base16_decode_exact(out, 20, s, strlen(s));
}

static bool
nickname_valid(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > 19)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

static int
parse_int(const char *s, long lo, long hi, long *out)
{
  char *end;
  if (!*s)
    return -1;
  long v = strtol(s, &end, 10);
  if (*end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static void
append_extra(guard_entry_t *g, const char *kv)
{
  if (!g->extra) {
    g->extra = al_strdup(kv);
  } else {
    char *n = al_asprintf("%s %s", g->extra, kv);
    al_free(g->extra);
    g->extra = n;
  }
}

typedef struct seen_t {
  bool in, rsa_id, sampled_on, listed, confirmed_idx;
} seen_t;

/* Apply one K=V field to g.  0 or -1. */
static int
apply_field(guard_entry_t *g, const char *k, const char *v, const char *kv,
            const char *want_in, bool *foreign, seen_t *seen)
{
  long num;
  if (!strcmp(k, "in")) {
    *foreign = strcmp(v, want_in) != 0;
    seen->in = true;
  } else if (!strcmp(k, "rsa_id")) {
    if (parse_hex20(v, g->rsa_id))
      return -1;
    seen->rsa_id = true;
  } else if (!strcmp(k, "nickname")) {
    if (!nickname_valid(v))
      return -1;
    memcpy(g->nickname, v, strlen(v) + 1);
  } else if (!strcmp(k, "sampled_on")) {
    if (parse_iso_time(v, &g->sampled_on))
      return -1;
    seen->sampled_on = true;
  } else if (!strcmp(k, "sampled_by")) {
    al_free(g->sampled_by);
    g->sampled_by = al_strdup(v);
  } else if (!strcmp(k, "unlisted_since")) {
    if (parse_iso_time(v, &g->unlisted_since))
      return -1;
  } else if (!strcmp(k, "listed")) {
    if (parse_int(v, 0, 1, &num))
      return -1;
    g->listed = num == 1;
    seen->listed = true;
  } else if (!strcmp(k, "confirmed_on")) {
    if (parse_iso_time(v, &g->confirmed_on))
      return -1;
  } else if (!strcmp(k, "confirmed_idx")) {
    if (parse_int(v, 0, 1000000, &num))
      return -1;
    g->confirmed_idx = (int)num;
    seen->confirmed_idx = true;
  } else {
    append_extra(g, kv);   /* pb_* and anything unknown, kept as is */
  }
  return 0;
}

/* Parse the fields of value into g.  0, 1 (another instance's line), or -1. */
static int
parse_fields(guard_entry_t *g, const char *value, const char *want_in)
{
  char *copy = al_strdup(value);
  bool foreign = false;
  seen_t seen = { 0 };
  int rv = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, " \t\r\n", &save); tok;
       tok = strtok_r(NULL, " \t\r\n", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok) {
      rv = -1;
      break;
    }
    char *kv = al_strdup(tok);
    *eq = '\0';
    int r = apply_field(g, tok, eq + 1, kv, want_in, &foreign, &seen);
    al_free(kv);
    if (r) {
      rv = -1;
      break;
    }
  }
  al_free(copy);
  if (rv == 0 && (!seen.in || !seen.rsa_id || !seen.sampled_on || !seen.listed))
    rv = -1;
  if (rv == 0 && foreign)
    rv = 1;
  if (rv == 0 && g->confirmed_on == 0)
    g->confirmed_idx = -1;       /* an index without a date means nothing */
  else if (rv == 0 && !seen.confirmed_idx)
    g->confirmed_idx = 1000000;  /* confirmed, position unknown: last */
  return rv;
}

int
guards_state_parse_line(guard_selection_t *gs, const char *value)
{
  if (!gs || !value)
    return -1;
  if (strlen(value) > GUARD_LINE_MAX) {
    log_warn("Guard line in the state file is too long; ignoring it.");
    return -1;
  }
  guard_entry_t *g = al_calloc(1, sizeof(*g));
  g->confirmed_idx = -1;
  int r = parse_fields(g, value, gs->name);
  if (r == 1) {
    guard_entry_free(g);
    gs->foreign = al_reallocarray(gs->foreign, gs->n_foreign + 1, sizeof(char *));
    gs->foreign[gs->n_foreign++] = al_strdup(value);
    return 0;
  }
  if (r < 0 || guard_selection_find(gs, g->rsa_id)) {
    log_warn("Malformed or duplicate Guard line in the state file; ignoring it.");
    guard_entry_free(g);
    return -1;
  }
  g->sample_idx = gs->next_sample_idx++;
  g->filtered = g->listed;
  guards_add_entry(gs, g);
  return 0;
}

int
guards_state_load(guard_selection_t *gs, const char *text)
{
  int bad = 0;
  const char *p = text;
  while (p && *p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if (len > 6 && !strncmp(p, "Guard", 5) && (p[5] == ' ' || p[5] == '\t')) {
      char *line = al_strndup(p + 6, len - 6);
      if (guards_state_parse_line(gs, line) != 0)
        bad++;
      al_free(line);
    } else if (len == 5 && !strncmp(p, "Guard", 5)) {
      bad++;
    }
    p = eol ? eol + 1 : NULL;
  }
  guards_renumber_confirmed(gs);
  guards_update_primary(gs);
  return bad;
}

static char *
encode_entry(const guard_selection_t *gs, const guard_entry_t *g)
{
  char hex[41], sampled[32], unl[32] = "", conf[32] = "";
  node_format_rsa_id(g->rsa_id, hex);
  format_iso_time(g->sampled_on, sampled);
  char *s = al_asprintf("Guard in=%s rsa_id=%s", gs->name, hex);
  char *t;
#define APPEND(...) do { t = al_asprintf(__VA_ARGS__); al_free(s); s = t; } while (0)
  if (g->nickname[0])
    APPEND("%s nickname=%s", s, g->nickname);
  APPEND("%s sampled_on=%s", s, sampled);
  if (g->sampled_by)
    APPEND("%s sampled_by=%s", s, g->sampled_by);
  if (!g->listed && g->unlisted_since) {
    format_iso_time(g->unlisted_since, unl);
    APPEND("%s unlisted_since=%s", s, unl);
  }
  APPEND("%s listed=%d", s, g->listed ? 1 : 0);
  if (g->confirmed_idx >= 0) {
    format_iso_time(g->confirmed_on, conf);
    APPEND("%s confirmed_on=%s confirmed_idx=%d", s, conf, g->confirmed_idx);
  }
  if (g->extra)
    APPEND("%s %s", s, g->extra);
  APPEND("%s\n", s);
#undef APPEND
  return s;
}

char *
guards_state_encode(const guard_selection_t *gs)
{
  char *out = al_strdup("");
  for (size_t i = 0; i < gs->n_sampled; i++) {
    char *line = encode_entry(gs, gs->sampled[i]);
    char *t = al_asprintf("%s%s", out, line);
    al_free(line);
    al_free(out);
    out = t;
  }
  for (size_t i = 0; i < gs->n_foreign; i++) {
    char *t = al_asprintf("%sGuard %s\n", out, gs->foreign[i]);
    al_free(out);
    out = t;
  }
  return out;
}

int
guards_state_read_file(guard_selection_t *gs, const char *path)
{
  char *text = NULL;
  int r = fs_read_file(path, &text, NULL, STATE_MAX_SIZE);
  if (r == FS_ERR_NOENT)
    return 0;
  if (r < 0)
    return r;
  int bad = guards_state_load(gs, text);
  al_free(text);
  return bad;
}

int
guards_state_write_file(const guard_selection_t *gs, const char *path)
{
  char *old = NULL;
  int r = fs_read_file(path, &old, NULL, STATE_MAX_SIZE);
  if (r < 0 && r != FS_ERR_NOENT)
    return r;
  char *out = al_strdup("");
  for (const char *p = old; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    bool guard = len >= 5 && !strncmp(p, "Guard", 5) &&
                 (len == 5 || p[5] == ' ' || p[5] == '\t');
    if (!guard && len > 0) {
      char *t = al_asprintf("%s%.*s\n", out, (int)len, p);
      al_free(out);
      out = t;
    }
    p = eol ? eol + 1 : NULL;
  }
  al_free(old);
  char *lines = guards_state_encode(gs);
  char *all = al_asprintf("%s%s", out, lines);
  al_free(out);
  al_free(lines);
  r = fs_write_file_atomic(path, all, strlen(all), 0600);
  al_free(all);
  return r;
}
