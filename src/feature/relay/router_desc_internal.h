/* router_desc_internal.h -- helpers shared by router_desc*.c (not a public
 * API): parameter checks (router_desc_params.c). */
#ifndef ALLIUM_FEATURE_RELAY_ROUTER_DESC_INTERNAL_H
#define ALLIUM_FEATURE_RELAY_ROUTER_DESC_INTERNAL_H

#include "allium/feature/relay/router_desc.h"

/** 0 when every field of p is acceptable, else ROUTER_DESC_ERR_ARG. */
int router_desc_params_check(const router_desc_params_t *p);
/** 1 when s is a valid nickname (1-19 of [A-Za-z0-9]). */
int router_desc_nickname_ok(const char *s);
/** 1 when s is printable ASCII without CR/LF (spaces only if spaces). */
int router_desc_text_ok(const char *s, int spaces);
/** 1 when s is a valid "family" entry. */
int router_desc_family_ok(const char *s);
/** 1 when s is "accept|reject addrspec:portspec" (IPv4 or "*"). */
int router_desc_policy_ok(const char *s);
/** 1 when s looks like a "proto" value. */
int router_desc_proto_ok(const char *s);

#endif
