/* relay_hibernate.c -- AccountingMax at run time (tor(1) AccountingMax,
 * AccountingStart, AccountingRule; "hibernating" in the descriptor is
 * dir-spec 2.1.1; DESTROY reason HIBERNATING is tor-spec 5.4).  The
 * arithmetic is relay_acct.c; this file brings the clock, the byte counts
 * (channel_bw.h), the state file and the effects on the running relay. */
#include <string.h>
#include <time.h>

#include <event2/listener.h>

#include "allium/core/channel/channel_bw.h"
#include "allium/core/mainloop/cellswitch.h"
#include "allium/feature/relay/relay_hibernate.h"
#include "allium/feature/relay/relay_publish.h"
#include "allium/lib/crypto/rand.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/fs/fs.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/civil.h"
#define LOG_MODULE "relay"
#include "allium/lib/log/log.h"
#include "relay_run_st.h"

/** Largest state file read. */
#define HIB_STATE_MAX (1024 * 1024)
/** Save the counters this often (and on every state change, and at exit). */
#define HIB_SAVE_SEC 60

struct relay_hibernate_t {
  relay_run_t *rr;
  relay_acct_t acct;
  char *state_file;
  evloop_handle_t *timer;
  uint64_t last_rd, last_wr;       /* channel byte counters at last tick */
  uint64_t last_msec;
  time_t last_save;
  relay_hib_state_t applied;       /* what the relay was last told */
};

static uint32_t
rnd32(void)
{
  return (uint32_t)crypto_rand_uint64(UINT32_MAX);
}

static const char *
state_name(relay_hib_state_t s)
{
  return s == RELAY_HIB_AWAKE ? "awake" : s == RELAY_HIB_SOFT
         ? "hibernating (soft: no new circuits)" : "dormant";
}

/* ---- the state file ---- */

static void
save_state(relay_hibernate_t *h, time_t now)
{
  h->last_save = now;
  if (!h->state_file)
    return;
  char *old = NULL;
  int r = fs_read_file(h->state_file, &old, NULL, HIB_STATE_MAX);
  if (r < 0 && r != FS_ERR_NOENT) {
    log_warn_rl(3600, "Couldn't read the state file to update its "
                "accounting lines.");
    return;
  }
  char *lines = relay_acct_state_encode(&h->acct);
  size_t cap = (old ? strlen(old) : 0) + strlen(lines) + 1, len = 0;
  char *out = al_malloc(cap);
  for (const char *p = old; p && *p;) {     /* keep every other line */
    const char *eol = strchr(p, '\n');
    size_t n = eol ? (size_t)(eol - p) : strlen(p);
    if (n && strncmp(p, "Accounting", 10)) {
      memcpy(out + len, p, n);
      len += n;
      out[len++] = '\n';
    }
    p = eol ? eol + 1 : NULL;
  }
  memcpy(out + len, lines, strlen(lines));
  len += strlen(lines);
  if (fs_write_file_atomic(h->state_file, out, len, 0600) < 0)
    log_warn_rl(3600, "Couldn't write the accounting state to the state "
                "file.");
  al_free(out);
  al_free(lines);
  al_free(old);
}

static void
load_state(relay_hibernate_t *h, time_t now)
{
  char *text = NULL;
  if (!h->state_file ||
      fs_read_file(h->state_file, &text, NULL, HIB_STATE_MAX) < 0)
    return;
  int bad = relay_acct_state_load(&h->acct, text, now, rnd32());
  if (bad)
    log_warn("Ignored %d malformed Accounting line%s in the state file.",
             bad, bad == 1 ? "" : "s");
  al_free(text);
}

/* ---- effects on the relay ---- */

static void
listeners_on(relay_run_t *rr, bool on)
{
  for (size_t i = 0; i < rr->n_listeners; i++)
    if (rr->listeners[i].lev) {
      if (on)
        evconnlistener_enable(rr->listeners[i].lev);
      else
        evconnlistener_disable(rr->listeners[i].lev);
    }
}

static void
apply(relay_hibernate_t *h, relay_hib_state_t s)
{
  relay_run_t *rr = h->rr;
  bool asleep = s != RELAY_HIB_AWAKE;
  cellswitch_set_hibernating(rr->sw, asleep);
  if (asleep != (h->applied != RELAY_HIB_AWAKE))
    listeners_on(rr, !asleep);
  if (s == RELAY_HIB_HARD) {
    size_t n = cellswitch_close_all_channels(rr->sw);
    if (n)
      log_notice("Going dormant. Blowing away %zu remaining connection%s.",
                 n, n == 1 ? "" : "s");
  }
  relay_publish_set_hibernating(rr->pub, asleep);
  h->applied = s;
}

static void
log_interval(const relay_hibernate_t *h)
{
  char a[20], b[20], w[20];
  civil_format_iso(h->acct.interval_start, ' ', a);
  civil_format_iso(h->acct.interval_end, ' ', b);
  civil_format_iso(h->acct.wakeup, ' ', w);
  log_notice("Configured hibernation. This interval began at %s and ends at "
             "%s (UTC). %s%s.", a, b, h->acct.state == RELAY_HIB_HARD
             ? "We will hibernate until " : h->acct.expected_usage
             ? "We expect to use our budget at the pace of the last interval"
             : "We have no prior estimate for bandwidth, so we will start out "
               "awake and hibernate when we exhaust our quota",
             h->acct.state == RELAY_HIB_HARD ? w : "");
}

static void
on_event(relay_hibernate_t *h, relay_acct_event_t ev, time_t now)
{
  char w[20];
  switch (ev) {
  case RELAY_ACCT_EV_SOFT:
    log_notice("Bandwidth soft limit reached; commencing hibernation. No new "
               "connections will be accepted.");
    break;
  case RELAY_ACCT_EV_HARD:
    if (h->applied == RELAY_HIB_AWAKE)   /* both limits within one second */
      log_notice("Bandwidth soft limit reached; commencing hibernation. No "
                 "new connections will be accepted.");
    log_notice("Bandwidth hard limit reached (AccountingMax); hibernating "
               "until the next accounting period.");
    break;
  case RELAY_ACCT_EV_SLEEP:
    civil_format_iso(h->acct.wakeup, ' ', w);
    log_notice("New accounting period; hibernating until %s (UTC).", w);
    break;
  case RELAY_ACCT_EV_WAKE:
    log_notice("Hibernation period ended. Resuming normal activity.");
    break;
  default:
    return;
  }
  apply(h, h->acct.state);
  save_state(h, now);
}

static void
tick(int what, void *arg)
{
  relay_hibernate_t *h = arg;
  (void)what;
  channel_bw_stats_t st;
  channel_bw_get_stats(&st);
  relay_acct_add(&h->acct, st.bytes_read - h->last_rd,
                 st.bytes_written - h->last_wr);
  h->last_rd = st.bytes_read;
  h->last_wr = st.bytes_written;
  uint64_t ms = evloop_monotonic_msec();
  uint64_t secs = (ms - h->last_msec) / 1000;
  h->last_msec += secs * 1000;
  time_t now = time(NULL);
  relay_acct_event_t ev = relay_acct_tick(&h->acct, now, secs, rnd32());
  if (ev != RELAY_ACCT_EV_NONE)
    on_event(h, ev, now);
  else if (now - h->last_save >= HIB_SAVE_SEC || now < h->last_save)
    save_state(h, now);
}

/* ---- life cycle ---- */

static int
parse_cfg(const relay_hibernate_cfg_t *cfg, relay_acct_start_t *st,
          relay_acct_rule_t *rule, char **errmsg)
{
  if (relay_acct_parse_start(cfg->start, st, errmsg) < 0)
    return -1;
  if (relay_acct_parse_rule(cfg->rule, rule) < 0) {
    *errmsg = al_asprintf("AccountingRule \"%.16s\": expected sum, max, in "
                          "or out", cfg->rule);
    return -1;
  }
  return 0;
}

relay_hibernate_t *
relay_hibernate_new(relay_run_t *rr, const relay_hibernate_cfg_t *cfg,
                    char **errmsg)
{
  relay_acct_start_t st;
  relay_acct_rule_t rule;
  if (parse_cfg(cfg, &st, &rule, errmsg) < 0)
    return NULL;
  relay_hibernate_t *h = al_calloc(1, sizeof(*h));
  h->rr = rr;
  h->state_file = cfg->state_file ? al_strdup(cfg->state_file) : NULL;
  time_t now = time(NULL);
  relay_acct_init(&h->acct, cfg->max, rule, &st, now, rnd32());
  load_state(h, now);
  channel_bw_stats_t s;
  channel_bw_get_stats(&s);
  h->last_rd = s.bytes_read;
  h->last_wr = s.bytes_written;
  h->last_msec = evloop_monotonic_msec();
  h->last_save = now;
  h->timer = evloop_timer_add(1000, 1, tick, h);
  if (!h->timer) {
    *errmsg = al_strdup("cannot start the accounting timer");
    relay_hibernate_free(h);
    return NULL;
  }
  log_interval(h);
  if (h->acct.state != RELAY_HIB_AWAKE)
    apply(h, h->acct.state);
  return h;
}

int
relay_hibernate_reconfigure(relay_hibernate_t *h,
                            const relay_hibernate_cfg_t *cfg, char **errmsg)
{
  relay_acct_start_t st;
  relay_acct_rule_t rule;
  if (parse_cfg(cfg, &st, &rule, errmsg) < 0)
    return -1;
  h->acct.max = cfg->max;
  h->acct.rule = rule;
  if (memcmp(&st, &h->acct.start, sizeof(st))) {
    h->acct.start = st;
    h->acct.interval_end = 0;     /* the next tick begins a new interval */
  }
  return 0;
}

void
relay_hibernate_free_(relay_hibernate_t *h)
{
  if (!h)
    return;
  evloop_handle_free(h->timer);
  if (h->rr)
    save_state(h, time(NULL));
  al_free(h->state_file);
  al_free(h);
}

void
relay_hibernate_reapply(relay_hibernate_t *h)
{
  if (!h || h->acct.state == RELAY_HIB_AWAKE)
    return;
  h->applied = RELAY_HIB_AWAKE;     /* listeners were (re)enabled */
  apply(h, h->acct.state);
}

relay_hib_state_t
relay_hibernate_state(const relay_hibernate_t *h)
{
  return h ? h->acct.state : RELAY_HIB_AWAKE;
}

const relay_acct_t *
relay_hibernate_acct(const relay_hibernate_t *h)
{
  return h ? &h->acct : NULL;
}

void
relay_hibernate_log_status(const relay_hibernate_t *h)
{
  if (!h)
    return;
  char e[20];
  civil_format_iso(h->acct.interval_end, ' ', e);
  log_notice("Heartbeat: Accounting enabled. Sent: %llu bytes, Received: %llu "
             "bytes, counted %llu of AccountingMax %llu (rule %s). The current "
             "accounting interval ends on %s UTC; we are %s.",
             (unsigned long long)h->acct.n_written,
             (unsigned long long)h->acct.n_read,
             (unsigned long long)relay_acct_used(&h->acct),
             (unsigned long long)h->acct.max,
             (const char *[]){ "max", "sum", "in", "out" }[h->acct.rule], e,
             state_name(h->acct.state));
}
