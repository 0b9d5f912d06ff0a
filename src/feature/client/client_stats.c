/* client_stats.c -- the client's figures for the MetricsPort (tor(1)
 * MetricsPort): circuits, streams, application connections and bytes, and
 * the onion services it hosts (rend-spec-v3 3 and 4: introductions,
 * rendezvous, descriptor uploads).  Read-only views of client_st.h. */
#include <string.h>

#include "allium/feature/client/client.h"
#include "client_hs_svc.h"
#include "client_st.h"

void
client_get_stats(const client_t *c, client_stats_t *out)
{
  memset(out, 0, sizeof(*out));
  if (!c)
    return;
  size_t all = client_circ_count(c, false, false);
  out->circuits_built = client_circ_count(c, true, false);
  out->circuits_building = all - out->circuits_built;
  for (const client_conn_t *k = c->conns; k; k = k->next) {
    out->conns++;
    if (k->state == CONN_OPEN || k->state == CONN_CONNECTING ||
        k->state == CONN_RESOLVING)
      out->streams_open++;
    else if (k->state == CONN_WAIT_CIRC || k->state == CONN_WAIT_HS)
      out->streams_waiting++;
  }
  out->bytes_in = c->bytes_in;
  out->bytes_out = c->bytes_out;
  client_hs_svc_add_stats(c, out);
}
