/* ctlbus.h -- the bus between every part of allium and the control port
 * (control-spec 4.1 "Asynchronous events", 3.9 "GETINFO").
 *
 * Lower layers and features must not include feature/control, so they talk
 * to controllers through this bus:
 *   - events: a module checks ctlev_wanted(type) (one load and a bit test,
 *     so nothing is formatted when no controller listens) and then calls
 *     ctlev_publish(type, fmt, ...) with the text after "650 NAME ";
 *   - GETINFO: a module registers the keys it can answer with
 *     ctlinfo_register() and removes them with ctlinfo_unregister(arg)
 *     before arg dies.
 * The control port installs the one event sink and sets the mask of the
 * events any controller asked for (SETEVENTS).  Everything runs on the
 * main loop thread.
 */
#ifndef ALLIUM_CORE_MAINLOOP_CTLBUS_H
#define ALLIUM_CORE_MAINLOOP_CTLBUS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The event types of control-spec 4.1, in tor's order. */
typedef enum ctlev_type_t {
  CTLEV_CIRC = 0, CTLEV_STREAM, CTLEV_ORCONN, CTLEV_BW,
  CTLEV_DEBUG, CTLEV_INFO, CTLEV_NOTICE, CTLEV_WARN, CTLEV_ERR,
  CTLEV_NEWDESC, CTLEV_ADDRMAP, CTLEV_DESCCHANGED, CTLEV_NS,
  CTLEV_STATUS_GENERAL, CTLEV_STATUS_CLIENT, CTLEV_STATUS_SERVER,
  CTLEV_GUARD, CTLEV_STREAM_BW, CTLEV_CLIENTS_SEEN, CTLEV_NEWCONSENSUS,
  CTLEV_BUILDTIMEOUT_SET, CTLEV_SIGNAL, CTLEV_CONF_CHANGED, CTLEV_CIRC_MINOR,
  CTLEV_TRANSPORT_LAUNCHED, CTLEV_CONN_BW, CTLEV_CIRC_BW, CTLEV_CELL_STATS,
  CTLEV_HS_DESC, CTLEV_HS_DESC_CONTENT, CTLEV_NETWORK_LIVENESS,
  CTLEV_PT_LOG, CTLEV_PT_STATUS,
  CTLEV__COUNT
} ctlev_type_t;

/** Bit t set: some controller listens for event t.  Read it through
 * ctlev_wanted(). */
extern uint64_t ctlev_mask_;

static inline bool
ctlev_wanted(ctlev_type_t t)
{
  return (ctlev_mask_ >> (unsigned)t) & 1u;
}

/** The event's name as SETEVENTS spells it ("CIRC", "STATUS_CLIENT"). */
const char *ctlev_name(ctlev_type_t t);
/** The type called name (case-insensitive), or -1. */
int ctlev_from_name(const char *name);

/** Publish a one-line event: fmt gives the text after "650 NAME " (no CR
 * LF); the sink receives "650 NAME text\r\n".  Nothing happens unless
 * ctlev_wanted(t). */
void ctlev_publish(ctlev_type_t t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ctlev_publishv(ctlev_type_t t, const char *fmt, va_list ap);
/** Publish an event already framed as reply lines (multi-line events such
 * as "650+NEWCONSENSUS\r\n...\r\n.\r\n650 OK\r\n"); msg is copied. */
void ctlev_publish_raw(ctlev_type_t t, const char *msg, size_t len);

/** The sink (the control port): receives every published event whose bit
 * is in the mask.  NULL fn removes it (and clears the mask). */
typedef void (*ctlev_sink_fn)(ctlev_type_t t, const char *msg, size_t len,
                              void *arg);
void ctlev_set_sink(ctlev_sink_fn fn, void *arg);
/** The union of every controller's SETEVENTS. */
void ctlev_set_mask(uint64_t mask);

/* ---- GETINFO ---- */

/** Answer GETINFO key: 0 with *answer (al_malloc'd, without CR LF framing;
 * may hold several lines separated by "\n"), CTLINFO_UNKNOWN for a key
 * this provider does not know (552 Unrecognized key), or CTLINFO_ERR with
 * *errmsg (static) for a known key that can't be answered now (551). */
typedef int (*ctlinfo_fn)(const char *key, void *arg, char **answer,
                          const char **errmsg);
#define CTLINFO_UNKNOWN (-1)
#define CTLINFO_ERR (-2)

/** Register key: exact, or a prefix when it ends in '/' (e.g. "ns/id/":
 * the provider gets the whole key).  doc is the one-line description
 * listed by "info/names" (static).  Later registrations of the same key
 * win.  0 or -1 (out of room). */
int ctlinfo_register(const char *key, ctlinfo_fn fn, void *arg,
                     const char *doc);
/** Remove every key registered with arg. */
void ctlinfo_unregister(void *arg);
/** Look key up: as ctlinfo_fn, CTLINFO_UNKNOWN when nobody registered it. */
int ctlinfo_get(const char *key, char **answer, const char **errmsg);
/** The id of the controller connection whose GETINFO is being answered
 * (as ctlcmd's conn_id; 0 outside a GETINFO), for keys whose answer
 * depends on the asker ("onions/current"). */
uint64_t ctlinfo_conn_id(void);
/** For the control port: set around ctlinfo_get(). */
void ctlinfo_set_conn_id(uint64_t conn_id);
/** "info/names": one "key -- doc" line per key, prefixes as "key* -- doc",
 * sorted, "\n"-separated (al_malloc'd). */
char *ctlinfo_names(void);
/** Forget every key, command and close hook (tests, shutdown). */
void ctlinfo_reset(void);

/* ---- commands implemented by other modules ---- */

/** Run a control command on behalf of controller connection conn_id (a
 * number that never repeats in the process).  args: the command line
 * after the keyword; data: the data block of a "+" command (lines ending
 * in "\n", dot-unstuffed) or NULL.  Returns 0 with *reply set to the
 * complete reply, framed as control-spec 2.3 reply lines each ending in
 * CR LF (al_malloc'd; feature/control/control_proto.h writes them), or -1
 * (the control port answers "551 Internal error"). */
typedef int (*ctlcmd_fn)(uint64_t conn_id, const char *args,
                         const char *data, void *arg, char **reply);
/** Register keyword (case-insensitive; later registrations win).  Only
 * authenticated controllers reach it.  0 or -1 (out of room). */
int ctlcmd_register(const char *keyword, ctlcmd_fn fn, void *arg);
/** Called when controller connection conn_id closes (ADD_ONION services
 * without Detach die with it, ...). */
typedef void (*ctlcmd_closed_fn)(uint64_t conn_id, void *arg);
int ctlcmd_on_close(ctlcmd_closed_fn fn, void *arg);
/** Remove every command and close hook registered with arg. */
void ctlcmd_unregister(void *arg);
/** For the control port: run keyword if registered.  1 with *reply (or
 * NULL after an internal error), 0 when nobody registered keyword. */
int ctlcmd_run(const char *keyword, uint64_t conn_id, const char *args,
               const char *data, char **reply);
/** For the control port: connection conn_id closed. */
void ctlcmd_conn_closed(uint64_t conn_id);

#endif
