/*
 * syn_probe ADDR PORT [-i INTERVAL_MS] [-n COUNT]: opens a TCP connection
 * to ADDR:PORT every INTERVAL_MS (default 10) milliseconds, COUNT times
 * (default 400), without waiting for any of them, and then tells which
 * got through: "probes N through M first_ms F last_ms L" (milliseconds
 * from the first probe to the first and last probe that connected; -1
 * when none did).  For measuring how long a port that should be dropped
 * stays open (a ruleset flushed under a running rpcgated): a dropped SYN
 * is retransmitted only after a second, so a probe that connects went
 * through while it was sent: each probe gets PROBE_WAIT_MS to connect
 * and is then closed, so that the kernel's retransmission of a dropped
 * SYN (after a second) never counts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROBES 4000
/* how long a probe may take to connect (a lab round trip is ~0.1 ms) */
#define PROBE_WAIT_MS 50

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int probe(const struct sockaddr_storage *to, socklen_t len)
{
	int fd = socket(to->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)to, len) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the connection fd was made (polled without waiting). */
static int connected(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0 || poll(&p, 1, 0) != 1)
		return 0;
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

int main(int argc, char **argv)
{
	static int fds[MAX_PROBES];
	static int64_t sent_ms[MAX_PROBES];
	struct sockaddr_storage to = { 0 };
	struct sockaddr_in *v4 = (struct sockaddr_in *)&to;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&to;
	long interval = 10, count = 400, through = 0;
	int64_t start, first = -1, last = -1;
	socklen_t len;
	int opt;

	while ((opt = getopt(argc, argv, "i:n:")) != -1) {
		if (opt == 'i')
			interval = strtol(optarg, NULL, 10);
		else if (opt == 'n')
			count = strtol(optarg, NULL, 10);
		else
			goto usage;
	}
	if (argc - optind != 2 || interval < 1 || count < 1 || count > MAX_PROBES)
		goto usage;
	if (inet_pton(AF_INET, argv[optind], &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)atoi(argv[optind + 1]));
		len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, argv[optind], &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)atoi(argv[optind + 1]));
		len = sizeof(*v6);
	} else {
		goto usage;
	}
	start = now_ms();
	for (long i = 0, judged = 0; judged < count;) {
		int64_t t = now_ms() - start;

		/* judge (and close) every probe whose time is up */
		for (; judged < i && sent_ms[judged] + PROBE_WAIT_MS <= t; judged++) {
			if (connected(fds[judged])) {
				through++;
				if (first < 0)
					first = sent_ms[judged];
				last = sent_ms[judged];
			}
			if (fds[judged] >= 0)
				close(fds[judged]);
		}
		if (i < count && t >= i * interval) {
			sent_ms[i] = t;
			fds[i] = probe(&to, len);
			i++;
		}
		usleep(1000);
	}
	printf("probes %ld through %ld first_ms %lld last_ms %lld\n", count,
	       through, (long long)first, (long long)last);
	return 0;
usage:
	fprintf(stderr, "usage: syn_probe ADDR PORT [-i INTERVAL_MS] [-n COUNT]\n");
	return 64;
}
