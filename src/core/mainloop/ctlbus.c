/* ctlbus.c -- the bus between allium's modules and the control port:
 * asynchronous events (control-spec 4.1) and GETINFO providers
 * (control-spec 3.9).  See ctlbus.h.  Main loop thread only. */
#include "allium/core/mainloop/ctlbus.h"
#include "allium/lib/malloc/malloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t ctlev_mask_;

static ctlev_sink_fn sink_fn;
static void *sink_arg;

static const char *const ev_names[CTLEV__COUNT] = {
  "CIRC", "STREAM", "ORCONN", "BW",
  "DEBUG", "INFO", "NOTICE", "WARN", "ERR",
  "NEWDESC", "ADDRMAP", "DESCCHANGED", "NS",
  "STATUS_GENERAL", "STATUS_CLIENT", "STATUS_SERVER",
  "GUARD", "STREAM_BW", "CLIENTS_SEEN", "NEWCONSENSUS",
  "BUILDTIMEOUT_SET", "SIGNAL", "CONF_CHANGED", "CIRC_MINOR",
  "TRANSPORT_LAUNCHED", "CONN_BW", "CIRC_BW", "CELL_STATS",
  "HS_DESC", "HS_DESC_CONTENT", "NETWORK_LIVENESS",
  "PT_LOG", "PT_STATUS",
};

const char *
ctlev_name(ctlev_type_t t)
{
  if ((unsigned)t >= CTLEV__COUNT)
    return "UNKNOWN";
  return ev_names[t];
}

int
ctlev_from_name(const char *name)
{
  for (int i = 0; i < CTLEV__COUNT; i++)
    if (!strcasecmp(name, ev_names[i]))
      return i;
  return -1;
}

void
ctlev_set_sink(ctlev_sink_fn fn, void *arg)
{
  sink_fn = fn;
  sink_arg = arg;
  if (!fn)
    ctlev_mask_ = 0;
}

void
ctlev_set_mask(uint64_t mask)
{
  ctlev_mask_ = sink_fn ? mask : 0;
}

void
ctlev_publishv(ctlev_type_t t, const char *fmt, va_list ap)
{
  if (!ctlev_wanted(t) || !sink_fn)
    return;
  char small[512];
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  char *body = small;
  if ((size_t)n >= sizeof(small)) {
    body = al_malloc((size_t)n + 1);
    vsnprintf(body, (size_t)n + 1, fmt, ap2);
  }
  va_end(ap2);
  /* Events are single lines: a CR or LF in a value must not start a new
   * reply line. */
  for (int i = 0; i < n; i++)
    if (body[i] == '\r' || body[i] == '\n')
      body[i] = ' ';
  const char *name = ev_names[t];
  size_t total = 4 + strlen(name) + 1 + (size_t)n + 2;
  char *msg = al_malloc(total + 1);
  snprintf(msg, total + 1, "650 %s %s\r\n", name, body);
  sink_fn(t, msg, total, sink_arg);
  al_free(msg);
  if (body != small)
    al_free(body);
}

void
ctlev_publish(ctlev_type_t t, const char *fmt, ...)
{
  if (!ctlev_wanted(t))
    return;
  va_list ap;
  va_start(ap, fmt);
  ctlev_publishv(t, fmt, ap);
  va_end(ap);
}

void
ctlev_publish_raw(ctlev_type_t t, const char *msg, size_t len)
{
  if (!ctlev_wanted(t) || !sink_fn)
    return;
  sink_fn(t, msg, len, sink_arg);
}

/* ---- GETINFO providers ---- */

typedef struct ctlinfo_entry_t {
  char *key;
  bool prefix;
  ctlinfo_fn fn;
  void *arg;
  const char *doc;
} ctlinfo_entry_t;

#define CTLINFO_MAX 256
static ctlinfo_entry_t entries[CTLINFO_MAX];
static size_t n_entries;

int
ctlinfo_register(const char *key, ctlinfo_fn fn, void *arg, const char *doc)
{
  size_t klen = strlen(key);
  if (!klen || !fn)
    return -1;
  for (size_t i = 0; i < n_entries; i++) {
    if (!strcasecmp(entries[i].key, key)) {
      entries[i].fn = fn;
      entries[i].arg = arg;
      entries[i].doc = doc;
      return 0;
    }
  }
  if (n_entries == CTLINFO_MAX)
    return -1;
  ctlinfo_entry_t *e = &entries[n_entries++];
  e->key = al_strdup(key);
  e->prefix = key[klen - 1] == '/';
  e->fn = fn;
  e->arg = arg;
  e->doc = doc;
  return 0;
}

void
ctlinfo_unregister(void *arg)
{
  size_t j = 0;
  for (size_t i = 0; i < n_entries; i++) {
    if (entries[i].arg == arg) {
      al_free(entries[i].key);
      continue;
    }
    entries[j++] = entries[i];
  }
  n_entries = j;
}

/* ---- commands ---- */

typedef struct ctlcmd_entry_t {
  char *keyword;
  ctlcmd_fn fn;
  void *arg;
} ctlcmd_entry_t;

typedef struct ctlcmd_hook_t {
  ctlcmd_closed_fn fn;
  void *arg;
} ctlcmd_hook_t;

#define CTLCMD_MAX 64
static ctlcmd_entry_t cmds[CTLCMD_MAX];
static size_t n_cmds;
static ctlcmd_hook_t hooks[CTLCMD_MAX];
static size_t n_hooks;

int
ctlcmd_register(const char *keyword, ctlcmd_fn fn, void *arg)
{
  if (!keyword || !keyword[0] || !fn)
    return -1;
  for (size_t i = 0; i < n_cmds; i++) {
    if (!strcasecmp(cmds[i].keyword, keyword)) {
      cmds[i].fn = fn;
      cmds[i].arg = arg;
      return 0;
    }
  }
  if (n_cmds == CTLCMD_MAX)
    return -1;
  cmds[n_cmds].keyword = al_strdup(keyword);
  cmds[n_cmds].fn = fn;
  cmds[n_cmds].arg = arg;
  n_cmds++;
  return 0;
}

int
ctlcmd_on_close(ctlcmd_closed_fn fn, void *arg)
{
  if (!fn || n_hooks == CTLCMD_MAX)
    return -1;
  hooks[n_hooks].fn = fn;
  hooks[n_hooks].arg = arg;
  n_hooks++;
  return 0;
}

void
ctlcmd_unregister(void *arg)
{
  size_t j = 0;
  for (size_t i = 0; i < n_cmds; i++) {
    if (cmds[i].arg == arg) {
      al_free(cmds[i].keyword);
      continue;
    }
    cmds[j++] = cmds[i];
  }
  n_cmds = j;
  j = 0;
  for (size_t i = 0; i < n_hooks; i++)
    if (hooks[i].arg != arg)
      hooks[j++] = hooks[i];
  n_hooks = j;
}

int
ctlcmd_run(const char *keyword, uint64_t conn_id, const char *args,
           const char *data, char **reply)
{
  *reply = NULL;
  for (size_t i = 0; i < n_cmds; i++) {
    if (strcasecmp(cmds[i].keyword, keyword))
      continue;
    if (cmds[i].fn(conn_id, args, data, cmds[i].arg, reply) < 0) {
      al_free(*reply);
      *reply = NULL;
    }
    return 1;
  }
  return 0;
}

void
ctlcmd_conn_closed(uint64_t conn_id)
{
  /* A hook may unregister: walk a copy. */
  ctlcmd_hook_t copy[CTLCMD_MAX];
  size_t n = n_hooks;
  memcpy(copy, hooks, n * sizeof(*copy));
  for (size_t i = 0; i < n; i++)
    copy[i].fn(conn_id, copy[i].arg);
}

void
ctlinfo_reset(void)
{
  for (size_t i = 0; i < n_entries; i++)
    al_free(entries[i].key);
  n_entries = 0;
  for (size_t i = 0; i < n_cmds; i++)
    al_free(cmds[i].keyword);
  n_cmds = 0;
  n_hooks = 0;
}

int
ctlinfo_get(const char *key, char **answer, const char **errmsg)
{
  *answer = NULL;
  const ctlinfo_entry_t *best = NULL;
  size_t best_len = 0;
  for (size_t i = 0; i < n_entries; i++) {
    const ctlinfo_entry_t *e = &entries[i];
    size_t kl = strlen(e->key);
    if (e->prefix) {
      if (strlen(key) > kl && !strncasecmp(key, e->key, kl) && kl > best_len) {
        best = e;
        best_len = kl;
      }
    } else if (!strcasecmp(key, e->key)) {
      best = e;
      break;
    }
  }
  if (!best)
    return CTLINFO_UNKNOWN;
  return best->fn(key, best->arg, answer, errmsg);
}

static uint64_t current_conn_id;

uint64_t
ctlinfo_conn_id(void)
{
  return current_conn_id;
}

void
ctlinfo_set_conn_id(uint64_t conn_id)
{
  current_conn_id = conn_id;
}

static int
cmp_entry(const void *a, const void *b)
{
  return strcasecmp(((const ctlinfo_entry_t *)a)->key,
                    ((const ctlinfo_entry_t *)b)->key);
}

char *
ctlinfo_names(void)
{
  ctlinfo_entry_t sorted[CTLINFO_MAX];
  memcpy(sorted, entries, n_entries * sizeof(*entries));
  qsort(sorted, n_entries, sizeof(*sorted), cmp_entry);
  size_t cap = 1;
  for (size_t i = 0; i < n_entries; i++)
    cap += strlen(sorted[i].key) + 6 +
           strlen(sorted[i].doc ? sorted[i].doc : "") + 1;
  char *out = al_malloc(cap);
  size_t off = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n_entries; i++)
    off += (size_t)snprintf(out + off, cap - off, "%s%s%s -- %s",
                            i ? "\n" : "", sorted[i].key,
                            sorted[i].prefix ? "*" : "",
                            sorted[i].doc ? sorted[i].doc : "");
  return out;
}
