#!/usr/bin/python3
"""Tiny TCP probe for lib.sh's settle check (no impacket, starts fast).

  tcp_probe.py listen PORT ADDR...           accept and close, until killed
  tcp_probe.py connect TIMEOUT HOST PORT...  connect to each HOST PORT pair,
                                             retrying until TIMEOUT seconds
                                             have passed; exit 0 if all did
"""
import signal
import socket
import sys
import threading
import time


def listen(port, addrs):
    socks = []
    for a in addrs:
        s = socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if ':' in a:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((a, port))
        s.listen(16)
        socks.append(s)

    def loop(s):
        while True:
            c, _ = s.accept()
            c.close()
    for s in socks:
        threading.Thread(target=loop, args=(s,), daemon=True).start()
    print('listening', flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


def connect(timeout, pairs):
    deadline = time.monotonic() + timeout
    bad = []
    for host, port in pairs:
        err = None
        while True:
            left = deadline - time.monotonic()
            s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
            s.settimeout(max(0.05, min(0.5, left)))
            try:
                s.connect((host, int(port)))
                err = None
                break
            except OSError as exc:
                err = exc
            finally:
                s.close()
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if err:
            bad.append('%s port %s: %s' % (host, port, err))
    for b in bad:
        print('unreachable: ' + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    if len(sys.argv) >= 4 and sys.argv[1] == 'listen':
        listen(int(sys.argv[2]), sys.argv[3:])
    elif len(sys.argv) >= 5 and sys.argv[1] == 'connect' and len(sys.argv) % 2 == 1:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        it = iter(sys.argv[3:])
        sys.exit(connect(float(sys.argv[2]), list(zip(it, it))))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
