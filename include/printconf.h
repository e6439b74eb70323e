/*
 * The effective policy as rpcgate.conf text (`rpcgated -t -v`), as
 * OpenBSD's daemons print theirs with -n: every key with the value in
 * force, defaults included, and each group after inheritance.  What it
 * prints loads again to the same policy.
 */
#ifndef RPCGATE_PRINTCONF_H
#define RPCGATE_PRINTCONF_H

#include <stdio.h>

#include "config.h"

void printconf(const struct rpcgate_config *cfg, FILE *out);

#endif
