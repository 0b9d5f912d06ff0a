/* test_confvalue.c -- torrc value types: booleans, integers, ports,
 * intervals and sizes with tor's unit words, address:port, port specs;
 * good, bad, boundary and oversized values. */
#include <criterion/criterion.h>

#include "allium/lib/conf/confdecl.h"
#include "allium/lib/malloc/malloc.h"

#include <string.h>

/* Expect failure and an error message containing want. */
#define EXPECT_BAD(call, want) do {                                  \
    char *err_ = NULL;                                                 \
    char **errmsg = &err_;                                             \
    cr_assert_eq((call), -1, "accepted: %s", #call);                   \
    cr_assert_not_null(err_);                                          \
    cr_assert(strstr(err_, (want)), "error %s lacks %s", err_, (want)); \
    al_free(err_);                                                     \
  } while (0)

Test(confvalue, bool)
{
  int v = 7;
  char *e = NULL;
  cr_assert_eq(conf_parse_bool("0", 0, &v, &e), 0);
  cr_assert_eq(v, 0);
  cr_assert_eq(conf_parse_bool(" 1 ", 0, &v, &e), 0);
  cr_assert_eq(v, 1);
  cr_assert_eq(conf_parse_bool("AUTO", 1, &v, &e), 0);
  cr_assert_eq(v, -1);
  EXPECT_BAD(conf_parse_bool("auto", 0, &v, errmsg), "expected 0 or 1");
  EXPECT_BAD(conf_parse_bool("yes", 0, &v, errmsg),
             "\"yes\" is not a boolean (expected 0 or 1)");
  EXPECT_BAD(conf_parse_bool("2", 1, &v, errmsg), "0, 1 or \"auto\"");
  EXPECT_BAD(conf_parse_bool("", 0, &v, errmsg), "not a boolean");
  EXPECT_BAD(conf_parse_bool("01", 0, &v, errmsg), "not a boolean");
  EXPECT_BAD(conf_parse_bool("1111111111111111111111111", 0, &v, errmsg),
             "not a boolean");
}

Test(confvalue, int64)
{
  int64_t v;
  char *e = NULL;
  cr_assert_eq(conf_parse_int64("-5", -5, 5, &v, &e), 0);
  cr_assert_eq(v, -5);
  cr_assert_eq(conf_parse_int64("+5", -5, 5, &v, &e), 0);
  cr_assert_eq(v, 5);
  cr_assert_eq(conf_parse_int64("9223372036854775807", INT64_MIN, INT64_MAX,
                                &v, &e), 0);
  cr_assert_eq(v, INT64_MAX);
  EXPECT_BAD(conf_parse_int64("6", -5, 5, &v, errmsg), "out of range");
  EXPECT_BAD(conf_parse_int64("-6", -5, 5, &v, errmsg), "-5 to 5");
  EXPECT_BAD(conf_parse_int64("9223372036854775808", INT64_MIN, INT64_MAX,
                              &v, errmsg), "not an integer");
  EXPECT_BAD(conf_parse_int64("12abc", 0, 100, &v, errmsg), "not an integer");
  EXPECT_BAD(conf_parse_int64("", 0, 100, &v, errmsg), "not an integer");
  EXPECT_BAD(conf_parse_int64("-", 0, 100, &v, errmsg), "not an integer");
}

Test(confvalue, uint64)
{
  uint64_t v;
  char *e = NULL;
  cr_assert_eq(conf_parse_uint64("18446744073709551615", 0, UINT64_MAX, &v,
                                 &e), 0);
  cr_assert_eq(v, UINT64_MAX);
  EXPECT_BAD(conf_parse_uint64("18446744073709551616", 0, UINT64_MAX, &v,
                               errmsg), "not an unsigned");
  EXPECT_BAD(conf_parse_uint64("-1", 0, UINT64_MAX, &v, errmsg),
             "not an unsigned");
  EXPECT_BAD(conf_parse_uint64("11", 0, 10, &v, errmsg), "out of range");
}

Test(confvalue, port)
{
  int v;
  char *e = NULL;
  cr_assert_eq(conf_parse_port("0", 1, &v, &e), 0);
  cr_assert_eq(v, 0);
  cr_assert_eq(conf_parse_port("65535", 1, &v, &e), 0);
  cr_assert_eq(v, 65535);
  cr_assert_eq(conf_parse_port("auto", 1, &v, &e), 0);
  cr_assert_eq(v, -1);
  EXPECT_BAD(conf_parse_port("65536", 1, &v, errmsg),
             "\"65536\" is not a port (expected 0-65535 or \"auto\")");
  EXPECT_BAD(conf_parse_port("auto", 0, &v, errmsg), "expected 0-65535)");
  EXPECT_BAD(conf_parse_port("-1", 1, &v, errmsg), "not a port");
  EXPECT_BAD(conf_parse_port("99999999999999999999999", 1, &v, errmsg),
             "not a port");
}

Test(confvalue, interval)
{
  struct { const char *in; uint64_t secs; } good[] = {
    { "0", 0 }, { "30", 30 }, { "30 seconds", 30 }, { "1 second", 1 },
    { "10 minutes", 600 }, { "10 min", 600 }, { "2 hours", 7200 },
    { "1 day", 86400 }, { "2 days", 172800 }, { "1 week", 604800 },
    { "3 weeks", 1814400 }, { "1 month", 2592000 }, { "1.5 hours", 5400 },
    { "10minutes", 600 }, { "  5 MINUTES  ", 300 }, { "1500 msec", 1 },
  };
  uint64_t v;
  char *e = NULL;
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    cr_assert_eq(conf_parse_interval(good[i].in, 0, &v, &e), 0, "%s: %s",
                 good[i].in, e);
    cr_assert_eq(v, good[i].secs, "%s: %llu", good[i].in,
                 (unsigned long long)v);
  }
  cr_assert_eq(conf_parse_interval("250", 1, &v, &e), 0);
  cr_assert_eq(v, 250);
  cr_assert_eq(conf_parse_interval("2 seconds", 1, &v, &e), 0);
  cr_assert_eq(v, 2000);
  cr_assert_eq(conf_parse_interval("100 milliseconds", 1, &v, &e), 0);
  cr_assert_eq(v, 100);
  EXPECT_BAD(conf_parse_interval("10 fortnights", 0, &v, errmsg),
             "\"10 fortnights\" is not an interval");
  EXPECT_BAD(conf_parse_interval("minutes", 0, &v, errmsg), "not an interval");
  EXPECT_BAD(conf_parse_interval("-1", 0, &v, errmsg), "not an interval");
  EXPECT_BAD(conf_parse_interval("1.", 0, &v, errmsg), "not an interval");
  EXPECT_BAD(conf_parse_interval("", 0, &v, errmsg), "not an interval");
  EXPECT_BAD(conf_parse_interval("99999999999999999 weeks", 0, &v, errmsg),
             "too large");
  EXPECT_BAD(conf_parse_interval("999999999999999999999", 0, &v, errmsg),
             "not an interval");
}

Test(confvalue, memory)
{
  struct { const char *in; uint64_t bytes; } good[] = {
    { "0", 0 }, { "100", 100 }, { "100 bytes", 100 }, { "1 byte", 1 },
    { "64 KB", 65536 }, { "64 kbytes", 65536 }, { "512 MB", 536870912 },
    { "512 MBytes", 536870912 }, { "1 GB", 1073741824 },
    { "1 GBytes", 1073741824 }, { "2 gigabytes", 2147483648ULL },
    { "1 TB", 1099511627776ULL }, { "8 kbits", 1024 }, { "1 mbit", 131072 },
    { "0.5 GB", 536870912 }, { "16777215 TB", 18446742974197923840ULL },
  };
  uint64_t v;
  char *e = NULL;
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    cr_assert_eq(conf_parse_memory(good[i].in, &v, &e), 0, "%s: %s",
                 good[i].in, e);
    cr_assert_eq(v, good[i].bytes, "%s", good[i].in);
  }
  EXPECT_BAD(conf_parse_memory("16777216 TB", &v, errmsg), "too large");
  EXPECT_BAD(conf_parse_memory("12 parsecs", &v, errmsg),
             "is not a memory size");
  EXPECT_BAD(conf_parse_memory("GB", &v, errmsg), "not a memory size");
  EXPECT_BAD(conf_parse_memory("1.1234567 GB", &v, errmsg),
             "not a memory size");
}

Test(confvalue, addrport_and_portspec)
{
  char *e = NULL;
  cr_assert_eq(conf_parse_addrport("127.0.0.1:9050", 0, &e), 0);
  cr_assert_eq(conf_parse_addrport("[::1]:9050", 0, &e), 0);
  cr_assert_eq(conf_parse_addrport("localhost:auto", 0, &e), 0);
  cr_assert_eq(conf_parse_addrport("[::1]", 1, &e), 0);
  EXPECT_BAD(conf_parse_addrport("127.0.0.1", 0, errmsg), "address:port");
  EXPECT_BAD(conf_parse_addrport("127.0.0.1:70000", 0, errmsg), "not a port");
  EXPECT_BAD(conf_parse_addrport("::1:80", 0, errmsg), "address:port");
  EXPECT_BAD(conf_parse_addrport("a b:80", 0, errmsg), "address:port");
  cr_assert_eq(conf_parse_portspec("9050", &e), 0);
  cr_assert_eq(conf_parse_portspec("auto", &e), 0);
  cr_assert_eq(conf_parse_portspec("unix:/run/x", &e), 0);
  cr_assert_eq(conf_parse_portspec("0.0.0.0:9001", &e), 0);
  EXPECT_BAD(conf_parse_portspec("unix:", errmsg), "unix:PATH");
  EXPECT_BAD(conf_parse_portspec("99999", errmsg),
             "\"99999\" is not a port (expected 0-65535 or \"auto\")");
  char big[400];
  memset(big, '1', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  EXPECT_BAD(conf_parse_portspec(big, errmsg), "...\" is not a port");
}
