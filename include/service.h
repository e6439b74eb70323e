/*
 * The live daemon: one thread, an epoll loop over the NFQUEUE socket, a
 * signalfd (HUP reload, USR1 statistics, TERM/INT stop) and a timerfd
 * (pinhole expiry, systemd watchdog).
 */
#ifndef RPCGATE_SERVICE_H
#define RPCGATE_SERVICE_H

#include "config.h"

/* Runs until stopped; returns the process exit status. */
int service_run(const char *config_path, const struct rpcgate_config *cfg);

#endif
