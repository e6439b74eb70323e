/*
 * The live daemon: one thread, an epoll loop over the NFQUEUE socket, a
 * signalfd (HUP reload, USR1 statistics, TERM/INT stop), a timerfd
 * (pinhole expiry, systemd watchdog) and the control socket's epoll fd.
 */
#ifndef RPCGATE_SERVICE_H
#define RPCGATE_SERVICE_H

#include "config.h"

struct service_options {
	const char *config_path;
	const char *control_path;	/* the control socket */
	const char *user;		/* run as this user after set-up, or NULL */
};

/* Runs until stopped; returns the process exit status. */
int service_run(const struct service_options *opt,
		const struct rpcgate_config *cfg);

#endif
