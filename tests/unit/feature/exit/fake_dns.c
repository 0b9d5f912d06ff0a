/* fake_dns.c -- a tiny UDP DNS responder on 127.0.0.1 for the exit
 * resolver's tests (RFC 1035 4.1); see fake_dns.h. */
#include "fake_dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RULES 64
#define MAX_SEEN 256

typedef struct rule_t {
  char name[256];
  int qtype;
  fake_dns_action_t action;
  uint8_t data[256];
  size_t n;
  uint32_t ttl;
} rule_t;

struct fake_dns_t {
  int fd;
  int port;
  struct event *ev;
  rule_t rules[MAX_RULES];
  size_t n_rules;
  fake_dns_action_t dflt;
  uint8_t dflt_a4[4];
  unsigned queries;
  char seen[MAX_SEEN][256];
  size_t n_seen;
};

/* The question's name (dotted, lower case) and its end; -1 if malformed. */
static int
read_qname(const uint8_t *p, size_t len, size_t *pos, char *out)
{
  size_t o = 0;
  while (*pos < len) {
    uint8_t l = p[(*pos)++];
    if (l == 0) {
      out[o] = '\0';
      return 0;
    }
    if (l > 63 || *pos + l > len || o + l + 2 > 255)
      return -1;
    if (o)
      out[o++] = '.';
    for (uint8_t i = 0; i < l; i++) {
      char c = (char)p[(*pos)++];
      out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
  }
  return -1;
}

static size_t
put16(uint8_t *b, size_t o, unsigned v)
{
  b[o] = (uint8_t)(v >> 8);
  b[o + 1] = (uint8_t)v;
  return o + 2;
}

static size_t
put32(uint8_t *b, size_t o, uint32_t v)
{
  o = put16(b, o, v >> 16);
  return put16(b, o, v & 0xffff);
}

/* Encode a dotted name; returns the new offset. */
static size_t
put_name(uint8_t *b, size_t o, const char *name)
{
  const char *s = name;
  while (*s) {
    const char *dot = strchr(s, '.');
    size_t l = dot ? (size_t)(dot - s) : strlen(s);
    b[o++] = (uint8_t)l;
    memcpy(b + o, s, l);
    o += l;
    s += l;
    if (*s == '.')
      s++;
  }
  b[o++] = 0;
  return o;
}

static const rule_t *
find_rule(const fake_dns_t *f, const char *name, int qtype)
{
  for (size_t i = 0; i < f->n_rules; i++)
    if (!strcasecmp(f->rules[i].name, name) &&
        (f->rules[i].qtype == 0 || f->rules[i].qtype == qtype))
      return &f->rules[i];
  return NULL;
}

/* Append the records of r (type qtype) to b at o; *an counts them. */
static size_t
put_answers(uint8_t *b, size_t o, const rule_t *r, int qtype, unsigned *an)
{
  if (qtype == 1 && r->qtype != 12) {
    for (size_t i = 0; i < r->n; i++) {
      o = put16(b, o, 0xC00C);
      o = put16(b, o, 1);
      o = put16(b, o, 1);
      o = put32(b, o, r->ttl);
      o = put16(b, o, 4);
      memcpy(b + o, r->data + 4 * i, 4);
      o += 4;
      (*an)++;
    }
  } else if (qtype == 28 && r->qtype != 12) {
    for (size_t i = 0; i < r->n; i++) {
      o = put16(b, o, 0xC00C);
      o = put16(b, o, 28);
      o = put16(b, o, 1);
      o = put32(b, o, r->ttl);
      o = put16(b, o, 16);
      memcpy(b + o, r->data + 16 * i, 16);
      o += 16;
      (*an)++;
    }
  } else if (qtype == 12 && r->qtype == 12) {
    o = put16(b, o, 0xC00C);
    o = put16(b, o, 12);
    o = put16(b, o, 1);
    o = put32(b, o, r->ttl);
    size_t lenpos = o;
    o = put_name(b, o + 2, (const char *)r->data);
    put16(b, lenpos, (unsigned)(o - lenpos - 2));
    (*an)++;
  }
  return o;
}

/* The rule for (name, qtype): its own, "no data" when the name has rules
 * for other types only, else the default (filled into *dr). */
static const rule_t *
pick_rule(const fake_dns_t *f, const char *name, int qtype, rule_t *dr)
{
  const rule_t *r = find_rule(f, name, qtype);
  if (r)
    return r;
  bool known_name = false;
  for (size_t i = 0; i < f->n_rules; i++)
    known_name = known_name || !strcasecmp(f->rules[i].name, name);
  memset(dr, 0, sizeof(*dr));
  if (known_name) {
    dr->action = FAKE_NODATA;   /* the name exists, not this type */
    return dr;
  }
  dr->action = f->dflt;
  dr->qtype = 1;
  dr->n = qtype == 1 ? 1 : 0;
  memcpy(dr->data, f->dflt_a4, 4);
  dr->ttl = 60;
  return dr;
}

/* The answer section of a malformed reply (b[0..o) holds the header and
 * question); returns the new end. */
static size_t
put_malformed(uint8_t *b, size_t o, fake_dns_action_t act, int qtype,
              const rule_t *r, unsigned *an)
{
  switch (act) {
  case FAKE_WRONG_ID:
    b[0] ^= 0x5a;
    break;
  case FAKE_HUGE_COUNTS:
    *an = 0xffff;
    break;
  case FAKE_BAD_RDLENGTH:
    o = put16(b, o, 0xC00C);
    o = put16(b, o, (unsigned)qtype);
    o = put16(b, o, 1);
    o = put32(b, o, 60);
    o = put16(b, o, 900);       /* far past the end */
    b[o++] = 1;
    *an = 1;
    break;
  case FAKE_POINTER_LOOP:
    o = put16(b, o, 0xC000 | (unsigned)o);   /* points at itself */
    o = put16(b, o, (unsigned)qtype);
    o = put16(b, o, 1);
    o = put32(b, o, 60);
    o = put16(b, o, 4);
    memset(b + o, 7, 4);
    o += 4;
    *an = 1;
    break;
  case FAKE_WRONG_QUESTION: {
    /* Rewrite the question to another name, then answer it. */
    o = put_name(b, 12, "other.test");
    o = put16(b, o, (unsigned)qtype);
    o = put16(b, o, 1);
    rule_t other = *r;
    other.action = FAKE_ANSWER;
    other.qtype = qtype;
    other.n = 1;
    memset(other.data, 9, 16);
    strcpy((char *)other.data, "x.test");
    o = put_answers(b, o, &other, qtype, an);
    break;
  }
  default:
    break;
  }
  return o;
}

static void
reply(fake_dns_t *f, const uint8_t *q, size_t qend, const char *name,
      int qtype, const struct sockaddr_in *to)
{
  rule_t dr;
  const rule_t *r = pick_rule(f, name, qtype, &dr);
  uint8_t b[1500];
  unsigned rcode = 0, an = 0;
  memcpy(b, q, qend);           /* id, flags, counts, question as asked */
  size_t o = qend;
  fake_dns_action_t act = r->action;
  if (act == FAKE_DROP)
    return;
  if (act == FAKE_RANDOM) {
    size_t extra = (size_t)(rand() % 601);
    for (size_t i = 0; i < extra; i++)
      b[o + i] = (uint8_t)rand();
    o += extra;
    for (int i = 2; i < 12; i++)   /* flags and counts */
      if (rand() % 2)
        b[i] = (uint8_t)rand();
    b[2] |= 0x80;                  /* still a response */
    sendto(f->fd, b, o, 0, (const struct sockaddr *)to, sizeof(*to));
    return;
  }
  if (act == FAKE_TRUNCATED) {
    sendto(f->fd, b, 7, 0, (const struct sockaddr *)to, sizeof(*to));
    return;
  }
  if (act == FAKE_NXDOMAIN)
    rcode = 3;
  else if (act == FAKE_SERVFAIL)
    rcode = 2;
  else if (act == FAKE_ANSWER)
    o = put_answers(b, o, r, qtype, &an);
  else
    o = put_malformed(b, o, act, qtype, r, &an);
  b[2] = (uint8_t)(0x80 | (q[2] & 0x01) | (act == FAKE_TC_BIT ? 0x02 : 0));
  b[3] = (uint8_t)(0x80 | rcode);
  put16(b, 4, 1);
  put16(b, 6, an);
  put16(b, 8, 0);
  put16(b, 10, 0);
  sendto(f->fd, b, o, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
  (void)what;
  fake_dns_t *f = arg;
  for (;;) {
    uint8_t q[1500];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
    if (n < 0)
      return;
    if (n < 12)
      continue;
    size_t pos = 12;
    char name[256];
    if (read_qname(q, (size_t)n, &pos, name) < 0 || pos + 4 > (size_t)n)
      continue;
    int qtype = (q[pos] << 8) | q[pos + 1];
    pos += 4;
    f->queries++;
    if (f->n_seen < MAX_SEEN)
      strcpy(f->seen[f->n_seen++], name);
    reply(f, q, pos, name, qtype, &from);
  }
}

fake_dns_t *
fake_dns_new(struct event_base *base)
{
  return fake_dns_new_on(base, 0);
}

fake_dns_t *
fake_dns_new_on(struct event_base *base, int port)
{
  fake_dns_t *f = calloc(1, sizeof(*f));
  f->dflt = FAKE_NXDOMAIN;
  f->fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons((uint16_t)port);
  socklen_t sl = sizeof(sin);
  if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
      getsockname(f->fd, (struct sockaddr *)&sin, &sl) < 0 ||
      evutil_make_socket_nonblocking(f->fd) < 0) {
    if (f->fd >= 0)
      close(f->fd);
    free(f);
    return NULL;
  }
  f->port = ntohs(sin.sin_port);
  f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, on_read, f);
  event_add(f->ev, NULL);
  return f;
}

void
fake_dns_free(fake_dns_t *f)
{
  if (!f)
    return;
  event_free(f->ev);
  close(f->fd);
  free(f);
}

int
fake_dns_port(const fake_dns_t *f)
{
  return f->port;
}

void
fake_dns_add(fake_dns_t *f, const char *name, int qtype,
             fake_dns_action_t action, const void *data, size_t n,
             uint32_t ttl)
{
  if (f->n_rules >= MAX_RULES)
    abort();
  rule_t *r = &f->rules[f->n_rules++];
  memset(r, 0, sizeof(*r));
  strncpy(r->name, name, sizeof(r->name) - 1);
  r->qtype = qtype;
  r->action = action;
  r->n = n;
  r->ttl = ttl;
  if (qtype == 12 && data)
    strncpy((char *)r->data, data, sizeof(r->data) - 1);
  else if (data)
    memcpy(r->data, data, n * (qtype == 28 ? 16 : 4));
}

void
fake_dns_default(fake_dns_t *f, fake_dns_action_t action, const uint8_t a4[4])
{
  f->dflt = action;
  if (a4)
    memcpy(f->dflt_a4, a4, 4);
}

unsigned
fake_dns_queries(const fake_dns_t *f)
{
  return f->queries;
}

unsigned
fake_dns_queries_for(const fake_dns_t *f, const char *name)
{
  unsigned n = 0;
  for (size_t i = 0; i < f->n_seen; i++)
    if (!strcasecmp(f->seen[i], name))
      n++;
  return n;
}
