/* channel_bw.c -- BandwidthRate / BandwidthBurst, RelayBandwidthRate /
 * RelayBandwidthBurst on the relay's channels (tor(1) "GENERAL OPTIONS" and
 * "SERVER OPTIONS": a token bucket limits the average incoming and the
 * average outgoing bandwidth to the rate, the burst being the bucket's
 * size; RelayBandwidth* add a separate bucket pair for relayed traffic;
 * buckets refill every TokenBucketRefillInterval, 100 msec by default).
 *
 * Byte counters are kept always (AccountingMax needs them); the buckets
 * only when a limit is set below the defaults (channel_bw_on_), so the
 * unlimited path costs channel_io.c one flag test per read or write.
 * Counting is of TLS plaintext (cells), which is what the rates bound in
 * the long run; TLS record overhead (about 2%) is not charged.
 *
 * Fairness: a channel may take at most an eighth of a bucket (but at least
 * one TLS record's worth) per wakeup; one that finds a bucket empty waits
 * in a FIFO list and the refill wakes the list in order.
 *
 * Other sockets (channel_bw_sock_t: an exit's connections to its
 * destinations) spend the global buckets only -- tor(1): BandwidthRate
 * bounds all of this node's traffic, RelayBandwidthRate only relayed
 * traffic -- and their bytes count with the channels' (AccountingMax). */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "allium/core/channel/channel_bw.h"
#include "allium/lib/evloop/evloop.h"
#include "allium/lib/malloc/malloc.h"
#include "allium/lib/time/rate_bucket.h"
#define LOG_MODULE "channel"
#include "allium/lib/log/log.h"
#include "channel_st.h"

/** Smallest per-wakeup share: one full TLS record. */
#define BW_SHARE_MIN 16384
/** Share of a bucket one channel may take per wakeup: 1 / BW_SHARE_DIV. */
#define BW_SHARE_DIV 8

bool channel_bw_on_;
uint64_t channel_bw_nread_, channel_bw_nwritten_;

static struct {
  bool relay;                        /* relay buckets on */
  rate_bucket_t rd, wr, rrd, rwr;    /* global and relay, read and write */
  struct event *refill;
  struct event_base *base;
  uint32_t refill_msec;
  dlist_t rwait, wwait;              /* channels waiting for tokens */
  dlist_t srwait, swwait;            /* other sockets waiting */
  bool lists_ready;
  channel_bw_stats_t st;
} BW;

static void
lists_init(void)
{
  if (!BW.lists_ready) {
    dlist_init(&BW.rwait);
    dlist_init(&BW.wwait);
    dlist_init(&BW.srwait);
    dlist_init(&BW.swwait);
    BW.lists_ready = true;
  }
}

bool
channel_bw_cfg_unlimited(const channel_bw_cfg_t *cfg)
{
  if (!cfg)
    return true;
  bool relay = cfg->relay_rate && (cfg->relay_rate < CHANNEL_BW_DEFAULT ||
               (cfg->relay_burst && cfg->relay_burst < CHANNEL_BW_DEFAULT));
  return cfg->rate >= CHANNEL_BW_DEFAULT && cfg->burst >= CHANNEL_BW_DEFAULT &&
         !relay;
}

/* ---- waking channels ---- */

/* Move every node of l to batch (l left empty). */
static void
list_take(dlist_t *l, dlist_t *batch)
{
  dlist_init(batch);
  if (!dlist_is_empty(l)) {
    batch->next = l->next;
    batch->prev = l->prev;
    batch->next->prev = batch;
    batch->prev->next = batch;
    dlist_init(l);
  }
}

static void wake_socks(dlist_t *l, int reading);

static void
wake_list(dlist_t *l, int reading)
{
  /* Take the list as it is now: a channel that blocks again while being
   * woken goes to the new list's tail (next refill). */
  dlist_t batch;
  list_take(l, &batch);
  while (!dlist_is_empty(&batch)) {
    dlist_node_t *n = batch.next;
    dlist_remove(n);
    channel_t *ch = reading ? DLIST_ENTRY(n, channel_t, bw_rnode)
                            : DLIST_ENTRY(n, channel_t, bw_wnode);
    if (reading)
      ch->bw_rblocked = 0;
    else
      ch->bw_wblocked = 0;
    channel_io_bw_resume(ch, reading);
  }
}

static void
on_refill(evutil_socket_t fd, short what, void *arg)
{
  (void)fd;
  (void)what;
  (void)arg;
  uint64_t now = evloop_monotonic_msec();
  rate_bucket_refill(&BW.rd, now);
  rate_bucket_refill(&BW.wr, now);
  if (BW.relay) {
    rate_bucket_refill(&BW.rrd, now);
    rate_bucket_refill(&BW.rwr, now);
  }
  if (rate_bucket_available(&BW.rd)) {
    wake_list(&BW.rwait, 1);
    wake_socks(&BW.srwait, 1);
  }
  if (rate_bucket_available(&BW.wr)) {
    wake_list(&BW.wwait, 0);
    wake_socks(&BW.swwait, 0);
  }
}

/* ---- configuration ---- */

static void
stop_timer(void)
{
  if (BW.refill) {
    event_free(BW.refill);
    BW.refill = NULL;
  }
}

int
channel_bw_configure(struct event_base *base, const channel_bw_cfg_t *cfg)
{
  lists_init();
  if (channel_bw_cfg_unlimited(cfg)) {
    if (channel_bw_on_)
      log_notice("Bandwidth limits lifted: relaying at full speed.");
    channel_bw_shutdown();
    return 0;
  }
  uint64_t now = evloop_monotonic_msec();
  uint32_t msec = cfg->refill_msec ? cfg->refill_msec : CHANNEL_BW_REFILL_MSEC;
  bool was_on = channel_bw_on_;
  if (!was_on || BW.base != base || BW.refill_msec != msec) {
    stop_timer();
    struct timeval tv = { msec / 1000, (msec % 1000) * 1000 };
    BW.refill = event_new(base, -1, EV_PERSIST, on_refill, NULL);
    if (!BW.refill || event_add(BW.refill, &tv) < 0) {
      stop_timer();
      channel_bw_on_ = false;
      return -1;
    }
    BW.base = base;
    BW.refill_msec = msec;
  }
  if (was_on) {
    rate_bucket_adjust(&BW.rd, cfg->rate, cfg->burst);
    rate_bucket_adjust(&BW.wr, cfg->rate, cfg->burst);
  } else {
    rate_bucket_init(&BW.rd, cfg->rate, cfg->burst, now);
    rate_bucket_init(&BW.wr, cfg->rate, cfg->burst, now);
  }
  bool relay = cfg->relay_rate != 0;
  uint64_t rburst = cfg->relay_burst ? cfg->relay_burst : cfg->relay_rate;
  if (relay && was_on && BW.relay) {
    rate_bucket_adjust(&BW.rrd, cfg->relay_rate, rburst);
    rate_bucket_adjust(&BW.rwr, cfg->relay_rate, rburst);
  } else if (relay) {
    rate_bucket_init(&BW.rrd, cfg->relay_rate, rburst, now);
    rate_bucket_init(&BW.rwr, cfg->relay_rate, rburst, now);
  }
  BW.relay = relay;
  channel_bw_on_ = true;
  BW.st.limited = true;
  char relay_s[96] = "";
  if (relay)
    snprintf(relay_s, sizeof(relay_s), ", relayed traffic %llu bytes/s "
             "(burst %llu)", (unsigned long long)cfg->relay_rate,
             (unsigned long long)rburst);
  log_notice("Bandwidth limits on: %llu bytes/s (burst %llu) in each "
             "direction%s; buckets refilled every %u msec.",
             (unsigned long long)cfg->rate, (unsigned long long)cfg->burst,
             relay_s, (unsigned)msec);
  return 0;
}

void
channel_bw_shutdown(void)
{
  stop_timer();
  channel_bw_on_ = false;
  BW.relay = false;
  BW.st.limited = false;
  if (BW.lists_ready) {
    wake_list(&BW.rwait, 1);
    wake_list(&BW.wwait, 0);
    wake_socks(&BW.srwait, 1);
    wake_socks(&BW.swwait, 0);
  }
}

void
channel_bw_get_stats(channel_bw_stats_t *out)
{
  *out = BW.st;
  out->bytes_read = channel_bw_nread_;
  out->bytes_written = channel_bw_nwritten_;
}

/* ---- per channel ---- */

void
channel_bw_attach(channel_t *ch, int relayed)
{
  lists_init();
  ch->bw_relayed = relayed;
  dlist_init(&ch->bw_rnode);
  dlist_init(&ch->bw_wnode);
}

void
channel_bw_detach(channel_t *ch)
{
  if (ch->bw_rnode.next)
    dlist_remove(&ch->bw_rnode);
  if (ch->bw_wnode.next)
    dlist_remove(&ch->bw_wnode);
  ch->bw_rblocked = ch->bw_wblocked = 0;
}

/* What one channel may take from bucket b now. */
static uint64_t
share_of(const rate_bucket_t *b)
{
  uint64_t avail = rate_bucket_available(b);
  uint64_t share = avail / BW_SHARE_DIV;
  if (share < BW_SHARE_MIN)
    share = BW_SHARE_MIN;
  return share < avail ? share : avail;
}

static size_t
allow(channel_t *ch, size_t want, rate_bucket_t *g, rate_bucket_t *r)
{
  uint64_t n = share_of(g);
  if (ch->bw_relayed && BW.relay) {
    uint64_t rn = share_of(r);
    if (rn < n)
      n = rn;
  }
  return n < want ? (size_t)n : want;
}

size_t
channel_bw_read_allow(channel_t *ch, size_t want)
{
  size_t n = allow(ch, want, &BW.rd, &BW.rrd);
  if (n == 0 && want && !ch->bw_rblocked) {
    ch->bw_rblocked = 1;
    BW.st.reads_blocked++;
    dlist_push_tail(&BW.rwait, &ch->bw_rnode);
  }
  return n;
}

size_t
channel_bw_write_allow(channel_t *ch, size_t want)
{
  size_t n = allow(ch, want, &BW.wr, &BW.rwr);
  if (n == 0 && want && !ch->bw_wblocked) {
    ch->bw_wblocked = 1;
    BW.st.writes_blocked++;
    dlist_push_tail(&BW.wwait, &ch->bw_wnode);
  }
  return n;
}

void
channel_bw_read_done(channel_t *ch, size_t n)
{
  if (ch->bw_relayed)
    BW.st.relay_bytes_read += n;
  if (!channel_bw_on_)
    return;
  if (rate_bucket_spend(&BW.rd, n)) {
    BW.st.read_emptied++;
    log_info_rl(60, "Global read bucket exhausted: reading paused until the "
                "next refill.");
  }
  if (ch->bw_relayed && BW.relay && rate_bucket_spend(&BW.rrd, n)) {
    BW.st.relay_read_emptied++;
    log_info_rl(60, "Relay read bucket exhausted: reading relayed traffic "
                "paused until the next refill.");
  }
}

void
channel_bw_write_done(channel_t *ch, size_t n)
{
  if (ch->bw_relayed)
    BW.st.relay_bytes_written += n;
  if (!channel_bw_on_)
    return;
  if (rate_bucket_spend(&BW.wr, n)) {
    BW.st.write_emptied++;
    log_info_rl(60, "Global write bucket exhausted: writing paused until the "
                "next refill.");
  }
  if (ch->bw_relayed && BW.relay && rate_bucket_spend(&BW.rwr, n)) {
    BW.st.relay_write_emptied++;
    log_info_rl(60, "Relay write bucket exhausted: writing relayed traffic "
                "paused until the next refill.");
  }
}

/* ---- other sockets (an exit's destination connections) ---- */

struct channel_bw_sock_t {
  dlist_node_t rnode, wnode;
  channel_bw_resume_fn resume;
  void *arg;
};

static void
wake_socks(dlist_t *l, int reading)
{
  dlist_t batch;
  list_take(l, &batch);
  while (!dlist_is_empty(&batch)) {
    dlist_node_t *n = batch.next;
    dlist_remove(n);
    channel_bw_sock_t *s = reading ? DLIST_ENTRY(n, channel_bw_sock_t, rnode)
                                   : DLIST_ENTRY(n, channel_bw_sock_t, wnode);
    s->resume(s->arg, reading);
  }
}

channel_bw_sock_t *
channel_bw_sock_new(channel_bw_resume_fn resume, void *arg)
{
  lists_init();
  channel_bw_sock_t *s = al_calloc(1, sizeof(*s));
  dlist_init(&s->rnode);
  dlist_init(&s->wnode);
  s->resume = resume;
  s->arg = arg;
  return s;
}

void
channel_bw_sock_free_(channel_bw_sock_t *s)
{
  if (!s)
    return;
  dlist_remove(&s->rnode);
  dlist_remove(&s->wnode);
  al_free(s);
}

/* What s may move now from bucket b; 0 queues s on wait. */
static size_t
sock_allow(dlist_node_t *node, dlist_t *wait,
           rate_bucket_t *b, size_t want, uint64_t *blocked)
{
  if (!channel_bw_on_ || !want)
    return want;
  uint64_t n = share_of(b);
  if (n)
    return n < want ? (size_t)n : want;
  if (!dlist_node_is_linked(node)) {
    (*blocked)++;
    dlist_push_tail(wait, node);
  }
  return 0;
}

size_t
channel_bw_sock_read_allow(channel_bw_sock_t *s, size_t want)
{
  return sock_allow(&s->rnode, &BW.srwait, &BW.rd, want,
                    &BW.st.other_reads_blocked);
}

size_t
channel_bw_sock_write_allow(channel_bw_sock_t *s, size_t want)
{
  return sock_allow(&s->wnode, &BW.swwait, &BW.wr, want,
                    &BW.st.other_writes_blocked);
}

void
channel_bw_sock_read_done(size_t n)
{
  channel_bw_nread_ += n;
  BW.st.other_bytes_read += n;
  if (channel_bw_on_ && rate_bucket_spend(&BW.rd, n))
    BW.st.read_emptied++;
}

void
channel_bw_sock_write_done(size_t n)
{
  channel_bw_nwritten_ += n;
  BW.st.other_bytes_written += n;
  if (channel_bw_on_ && rate_bucket_spend(&BW.wr, n))
    BW.st.write_emptied++;
}
