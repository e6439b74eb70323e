/*
 * syn_probe: is a port open right now?  Asked again and again, to catch
 * the moments a restart or a repair leaves it open:
 *
 *   syn_probe HOST PORT INTERVAL_MS [SECONDS]
 *
 * every INTERVAL_MS one new TCP connection attempt to HOST PORT (IPv4 or
 * IPv6), each from its own socket, closed unanswered after 500 ms --
 * before the kernel's first retransmission, so each attempt is one SYN.
 * An attempt that is answered (connected, or refused: a SYN-ACK or a RST
 * came back, so the SYN got through) counts as through.  Runs SECONDS
 * (default: until SIGTERM or SIGINT), then prints one line,
 * "syn_probe: sent N through M first_through_ms T" (T -1 when none; the
 * milliseconds from the start to the first attempt that got through),
 * and exits 0; 64 for bad arguments, 1 when it could not go on probing
 * (the line still says how far it got).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PENDING 128
#define GIVE_UP_MS 500

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct attempt {
	int fd;
	int64_t started;
};

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = { 0 };
	struct attempt pending[MAX_PENDING];
	struct sigaction sa = { .sa_handler = on_stop };
	socklen_t sslen;
	long interval, seconds = 0, sent = 0, through = 0;
	int64_t start, next, end, first = -1;
	size_t n_pending = 0;
	int status = 0;
	char *endp;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: syn_probe HOST PORT INTERVAL_MS [SECONDS]\n");
		return 64;
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	long port = strtol(argv[2], &endp, 10);

	if (*endp || port < 1 || port > 65535)
		return 64;
	if (inet_pton(AF_INET, argv[1], &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		sslen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, argv[1], &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*in6);
	} else {
		return 64;
	}
	interval = strtol(argv[3], &endp, 10);
	if (*endp || interval < 1 || interval > 60000)
		return 64;
	if (argc == 5) {
		seconds = strtol(argv[4], &endp, 10);
		if (*endp || seconds < 1)
			return 64;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	start = next = now_ms();
	end = seconds ? start + seconds * 1000 : INT64_MAX;
	while (!stop && now_ms() < end) {
		struct pollfd pfd[MAX_PENDING];
		int64_t now = now_ms();
		int wait;

		if (now >= next && n_pending < MAX_PENDING) {
			int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			if (fd < 0) {
				perror("syn_probe: socket");
				status = 1;
				break;
			}
			if (connect(fd, (struct sockaddr *)&ss, sslen) == 0 ||
			    errno == ECONNREFUSED) {
				through++;
				if (first < 0)
					first = now - start;
				close(fd);
			} else if (errno == EINPROGRESS) {
				pending[n_pending++] = (struct attempt){ fd, now };
			} else {
				/* no SYN left (no route, say): not through */
				close(fd);
			}
			sent++;
			next += interval;
		}
		for (size_t i = 0; i < n_pending; i++)
			pfd[i] = (struct pollfd){ .fd = pending[i].fd, .events = POLLOUT };
		wait = (int)(next > now ? next - now : 0);
		if (poll(pfd, n_pending, wait) < 0 && errno != EINTR) {
			perror("syn_probe: poll");
			status = 1;
			break;
		}
		now = now_ms();
		for (size_t i = 0; i < n_pending;) {
			int err = 0;
			socklen_t len = sizeof(err);
			bool answered = pfd[i].revents != 0;

			if (answered) {
				getsockopt(pending[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
				answered = err == 0 || err == ECONNREFUSED;
			}
			if (answered || pfd[i].revents ||
			    now - pending[i].started >= GIVE_UP_MS) {
				if (answered) {
					through++;
					if (first < 0)
						first = pending[i].started - start;
				}
				close(pending[i].fd);
				pending[i] = pending[--n_pending];
				pfd[i] = pfd[n_pending];
			} else {
				i++;
			}
		}
	}
	for (size_t i = 0; i < n_pending; i++)
		close(pending[i].fd);
	printf("syn_probe: sent %ld through %ld first_through_ms %lld\n", sent,
	       through, (long long)first);
	return status;
}
