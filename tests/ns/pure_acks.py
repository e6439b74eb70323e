#!/usr/bin/python3
"""Crafted TCP segments to a server's endpoint-mapper port, for
test_pure_acks.sh (Debian's /usr/bin/python3: scapy).

  pure_acks.py FAMILY SERVER CTL SOCKET FIRST_SPORT

Run in the client.  For each probe: the daemon's queued-packet counter
(CTL -s SOCKET --json stats, counters.packets), the probe, then a marker
that is always queued (one payload byte on a tuple of its own); once the
counter has counted the marker, everything sent before it has crossed the
queue (one queue, in order), so the counter says whether the probe was
queued.  Prints one JSON line per probe: name, expected, queued.
The server drops what arrives (the test's rule), so nothing answers.
"""
import json
import subprocess
import sys
import time

from scapy.all import IP, IPv6, IPv6ExtHdrDestOpt, IPOption_NOP, TCP, Raw, send  # noqa: E402

family, server, ctl, sock, first = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
sport = first


def packets():
    out = subprocess.run([ctl, "-s", sock, "--json", "stats"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["counters"]["packets"]


def net(ext=False, ip_options=False):
    if family == "4":
        return IP(dst=server, options=[IPOption_NOP()] * 4) if ip_options else IP(dst=server)
    return IPv6(dst=server) / IPv6ExtHdrDestOpt() if ext else IPv6(dst=server)


TIMESTAMPS = [("NOP", None), ("NOP", None), ("Timestamp", (1, 0))]
# the longest header: data offset 15 (40 bytes of options)
LONGEST = [("Timestamp", (1, 0)), ("SAck", (1000, 2000, 3000, 4000, 5000, 6000)),
           ("NOP", None), ("NOP", None), ("NOP", None), ("NOP", None)]


def seg(port, flags, payload=b"", options=(), seq=1000, **kw):
    p = net(**kw) / TCP(sport=port, dport=135, flags=flags, seq=seq, ack=1, options=list(options))
    return p / Raw(payload) if payload else p


def next_port():
    global sport
    sport += 1
    return sport


# name, expected queued, the segments: before the probe (the last) a pure
# ACK that conntrack picks up mid-stream, where the probe alone would be
# invalid to conntrack (FIN, RST); that ACK is not queued either
def probes():
    yield "ack", 0, [seg(next_port(), "A")]
    yield "ack-timestamps", 0, [seg(next_port(), "A", options=TIMESTAMPS)]
    yield "ack-longest-header", 0, [seg(next_port(), "A", options=LONGEST)]
    yield "ack-psh-no-payload", 0, [seg(next_port(), "PA")]
    yield "data-1-byte", 1, [seg(next_port(), "A", b"x")]
    yield "data-1-byte-timestamps", 1, [seg(next_port(), "PA", b"x", TIMESTAMPS)]
    yield "data-1-byte-longest-header", 1, [seg(next_port(), "A", b"x", LONGEST)]
    yield "syn", 1, [seg(next_port(), "S")]
    port = next_port()
    yield "fin", 1, [seg(port, "A"), seg(port, "FA")]
    port = next_port()
    yield "rst", 1, [seg(port, "A"), seg(port, "R", seq=1000)]
    if family == "4":
        yield "ack-ip-options", 1, [seg(next_port(), "A", ip_options=True)]
    else:
        yield "ack-extension-header", 1, [seg(next_port(), "A", ext=True)]


marker_port = first + 500
for name, expected, segments in probes():
    before = packets()
    send(segments, verbose=False)
    marker_port += 1
    send(seg(marker_port, "A", b"m"), verbose=False)
    want = before + expected + 1
    deadline = time.time() + 10
    now = packets()
    while now < want and time.time() < deadline:
        time.sleep(0.05)
        now = packets()
    time.sleep(0.2)  # anything queued late would show now
    now = packets()
    print(json.dumps({"name": name, "expected": expected, "queued": now - before - 1}), flush=True)
