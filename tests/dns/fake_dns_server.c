/* fake_dns_server.c -- a stand-alone DNS responder on 127.0.0.1 for
 * integration scenarios of the exit relay (the exit's ServerDNSResolvConfFile
 * names it: "nameserver 127.0.0.1:PORT"), built on the unit tests'
 * tests/unit/feature/exit/fake_dns.c (RFC 1035 4.1 messages).  It answers
 * only from its rules and never forwards a query anywhere.
 *
 *   fake-dns-server [-p PORT] [-r RULES] [-d nxdomain|drop|A.B.C.D]
 *
 * prints "port N" once listening, then runs until SIGTERM/SIGINT.  Each
 * line of RULES: NAME TYPE [VALUE...] [ttl=N], TYPE one of A (IPv4
 * addresses), AAAA (IPv6 addresses), PTR (a name), NXDOMAIN, SERVFAIL,
 * NODATA, DROP; "#" starts a comment.  Names without a rule get -d
 * (default nxdomain; an address answers every A query with it, as a
 * hijacking resolver would). */
#include <arpa/inet.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit/feature/exit/fake_dns.h"

static int
add_rule(fake_dns_t *f, char *line)
{
  char *save = NULL, *tok[16];
  int n = 0;
  uint32_t ttl = 600;
  for (char *t = strtok_r(line, " \t\r\n", &save); t && n < 16;
       t = strtok_r(NULL, " \t\r\n", &save)) {
    if (t[0] == '#')
      break;
    if (!strncmp(t, "ttl=", 4))
      ttl = (uint32_t)strtoul(t + 4, NULL, 10);
    else
      tok[n++] = t;
  }
  if (n == 0)
    return 0;
  if (n < 2)
    return -1;
  const char *name = tok[0], *type = tok[1];
  if (!strcasecmp(type, "A") || !strcasecmp(type, "AAAA")) {
    int six = !strcasecmp(type, "AAAA");
    uint8_t buf[16 * 8];
    size_t k = 0;
    for (int i = 2; i < n && k < 8; i++, k++)
      if (inet_pton(six ? AF_INET6 : AF_INET, tok[i],
                    buf + k * (six ? 16 : 4)) != 1)
        return -1;
    fake_dns_add(f, name, six ? 28 : 1, FAKE_ANSWER, buf, k, ttl);
  } else if (!strcasecmp(type, "PTR") && n == 3) {
    fake_dns_add(f, name, 12, FAKE_ANSWER, tok[2], 1, ttl);
  } else if (!strcasecmp(type, "NXDOMAIN")) {
    fake_dns_add(f, name, 0, FAKE_NXDOMAIN, NULL, 0, 0);
  } else if (!strcasecmp(type, "SERVFAIL")) {
    fake_dns_add(f, name, 0, FAKE_SERVFAIL, NULL, 0, 0);
  } else if (!strcasecmp(type, "NODATA")) {
    fake_dns_add(f, name, 0, FAKE_NODATA, NULL, 0, 0);
  } else if (!strcasecmp(type, "DROP")) {
    fake_dns_add(f, name, 0, FAKE_DROP, NULL, 0, 0);
  } else {
    return -1;
  }
  return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
  (void)sig;
  (void)what;
  event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
  int port = 0, opt;
  const char *rules = NULL, *dflt = "nxdomain";
  while ((opt = getopt(argc, argv, "p:r:d:")) != -1) {
    switch (opt) {
    case 'p': port = atoi(optarg); break;
    case 'r': rules = optarg; break;
    case 'd': dflt = optarg; break;
    default:
      fprintf(stderr, "usage: %s [-p PORT] [-r RULES] [-d nxdomain|drop|"
              "A.B.C.D]\n", argv[0]);
      return 2;
    }
  }
  struct event_base *base = event_base_new();
  fake_dns_t *f = base ? fake_dns_new_on(base, port) : NULL;
  if (!f) {
    fprintf(stderr, "fake-dns-server: cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  uint8_t a4[4];
  if (!strcmp(dflt, "drop"))
    fake_dns_default(f, FAKE_DROP, NULL);
  else if (inet_pton(AF_INET, dflt, a4) == 1)
    fake_dns_default(f, FAKE_ANSWER, a4);
  else if (strcmp(dflt, "nxdomain")) {
    fprintf(stderr, "fake-dns-server: bad -d %s\n", dflt);
    return 2;
  }
  if (rules) {
    FILE *rf = fopen(rules, "r");
    if (!rf) {
      perror(rules);
      return 1;
    }
    char line[1024];
    int ln = 0;
    while (fgets(line, sizeof(line), rf)) {
      ln++;
      if (add_rule(f, line) < 0) {
        fprintf(stderr, "%s:%d: bad rule\n", rules, ln);
        return 2;
      }
    }
    fclose(rf);
  }
  struct event *s1 = evsignal_new(base, SIGTERM, on_signal, base);
  struct event *s2 = evsignal_new(base, SIGINT, on_signal, base);
  event_add(s1, NULL);
  event_add(s2, NULL);
  printf("port %d\n", fake_dns_port(f));
  fflush(stdout);
  event_base_dispatch(base);
  fprintf(stderr, "fake-dns-server: %u queries\n", fake_dns_queries(f));
  event_free(s1);
  event_free(s2);
  fake_dns_free(f);
  event_base_free(base);
  return 0;
}
