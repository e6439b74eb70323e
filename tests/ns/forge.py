#!/usr/bin/python3
"""Forged endpoint-mapper answers for test_forge.sh (Debian's /usr/bin/python3:
scapy frames, gen_vectors.py's impacket encoders for the PDUs).

A client forges the server's answer to itself: an Ethernet frame to the
router's LAN MAC with the server's address and port 135 as its source, which
the router forwards back out of the interface it came in on (hairpin).

  forge.py serve-slow ADDR DELAY PORT
        in the server: an endpoint mapper on ADDR:135 that answers bind at
        once and ept_map only after DELAY seconds (EMSMDB at ADDR:PORT, the
        genuine answer), and a banner service "ok EMSMDB" on PORT; a ready
        line, then until killed
  forge.py tcp SERVER ROUTER_MAC PORT
        a real connection to SERVER:135: bind, ept_map(EMSMDB), then, while
        the server holds its answer, a forged in-window answer advertising
        EMSMDB on PORT; reports which answer the socket read
  forge.py udp SERVER ROUTER_MAC PORT
        a real ept_map request over UDP to SERVER:135 from a socket, then a
        forged connectionless answer carrying a TCP tower for PORT; reports
        whether the socket received it
  forge.py midstream SERVER CLIENT ROUTER_MAC PORT
        no connection at all: the client's half of a conversation (bind,
        ept_map) sent raw without a SYN, each followed by the server's
        forged half (bind_ack, the answer advertising PORT)

Each prints one JSON line; the client-side commands exit 0 when the frames
went out.  Waits are bounded.
"""
import json
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
import gen_vectors as gv  # noqa: E402
from scapy.all import AsyncSniffer, conf, get_if_hwaddr, sendp  # noqa: E402
from scapy.layers.inet import IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

IFACE = "eth0"
EPM = 135
conf.verb = 0


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def tower_ip(addr):
    # the tower's address floor is IPv4: 0.0.0.0 when asked over IPv6
    return addr if family(addr) == socket.AF_INET else "0.0.0.0"


def map_answer(call_id, addr, port):
    stub = gv.map_response_stub([gv.tower(gv.EMSMDB, port, tower_ip(addr))], 4)
    (pdu,) = gv.responses(call_id, stub)
    return pdu


def map_request(call_id):
    return gv.request(call_id, gv.OP_MAP,
                      gv.map_request_stub(gv.map_tower_request(gv.EMSMDB), 4))


def ip_layer(src, dst):
    return IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)


def frame(router_mac, src, dst):
    return Ether(src=get_if_hwaddr(IFACE), dst=router_mac) / ip_layer(src, dst)


def answer_port(data):
    """The port floor (0x07, big-endian) of the first tower in an answer."""
    at = data.find(bytes([0x01, 0x00, 0x07, 0x02, 0x00]))
    return struct.unpack(">H", data[at + 5:at + 7])[0] if at >= 0 else None


def recv_pdu(sock):
    hdr = sock.recv(16, socket.MSG_WAITALL)
    body_len = struct.unpack_from("<H", hdr, 8)[0] - 16 if len(hdr) == 16 else -1
    body = sock.recv(body_len, socket.MSG_WAITALL) if body_len > 0 else b""
    if body_len < 0 or len(body) < body_len:
        raise EOFError
    return hdr + body


# ------------------------------------------------------------------ server

def banner(port, addr):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(b"ok EMSMDB\n")
            c.settimeout(2)
            c.recv(1)
        except OSError:
            pass
        c.close()


def serve_slow(addr, delay, port):
    threading.Thread(target=banner, args=(port, addr), daemon=True).start()
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, EPM))
    s.listen(16)
    print(json.dumps({"event": "ready", "port": port}), flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=slow_conn, args=(c, addr, delay, port), daemon=True).start()


def slow_conn(c, addr, delay, port):
    c.settimeout(10)
    try:
        while True:
            pdu = recv_pdu(c)
            call_id = struct.unpack_from("<L", pdu, 12)[0]
            if pdu[2] == gv.MSRPC_BIND:
                c.sendall(gv.bind_ack(call_id, str(EPM)))
            elif pdu[2] == gv.MSRPC_REQUEST:
                time.sleep(delay)
                c.sendall(map_answer(call_id, addr, port))
            else:
                return
    except (OSError, EOFError):
        pass
    finally:
        c.close()


# ------------------------------------------------------------------ client

def local_addr(server):
    """The address this host sends from to server."""
    probe = socket.socket(family(server), socket.SOCK_DGRAM)
    probe.connect((server, EPM))
    addr = probe.getsockname()[0]
    probe.close()
    return addr


def of_conn(server, cport):
    def match(p):
        return TCP in p and {p[TCP].sport, p[TCP].dport} == {cport, EPM} and \
            server in (p[1].src, p[1].dst)
    return match


def forge_tcp(server, router_mac, port):
    """The forgery on the client's own connection, in window."""
    s = socket.socket(family(server), socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind(("::" if ":" in server else "0.0.0.0", 0))
    cport = s.getsockname()[1]
    seen = []
    sniff = AsyncSniffer(iface=IFACE, lfilter=of_conn(server, cport), prn=seen.append,
                         store=False)
    sniff.start()
    time.sleep(0.3)                 # the sniffer is listening
    s.connect((server, EPM))
    s.sendall(gv.bind(1))
    recv_pdu(s)                     # bind_ack
    s.sendall(map_request(2))
    time.sleep(0.2)                 # the request is on the wire (and seen)
    so_far = list(seen)
    # the server's next sequence number, the client's next one
    srv = [p for p in so_far if p[TCP].sport == EPM]
    cli = [p for p in so_far if p[TCP].dport == EPM]
    if not srv or not cli:
        sniff.stop()
        print(json.dumps({"event": "tcp", "error": "sniffer saw nothing"}))
        return 1
    seq = max(p[TCP].seq + len(p[TCP].payload) for p in srv) & 0xffffffff
    ack = max(p[TCP].seq + len(p[TCP].payload) for p in cli) & 0xffffffff
    forged = frame(router_mac, server, s.getsockname()[0]) / TCP(
        sport=EPM, dport=cport, flags="PA", seq=seq, ack=ack, window=64240) / \
        map_answer(2, server, port)
    sendp(forged, iface=IFACE)
    try:
        got = recv_pdu(s)
        read_port, error = answer_port(got), None
    except (OSError, EOFError) as exc:
        read_port, error = None, repr(exc)
    sniff.stop()
    s.close()
    print(json.dumps({"event": "tcp", "client_port": cport, "seq": seq, "ack": ack,
                      "forged_port": port, "read_port": read_port,
                      "read_forged": read_port == port, "error": error}))
    return 0


def forge_udp(server, router_mac, port):
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    s.bind(("::" if ":" in server else "0.0.0.0", 0))
    s.settimeout(1.0)
    cport = s.getsockname()[1]
    # not connected: the server's "port unreachable" must not end the wait
    s.sendto(gv.cl_map_request(), (server, EPM))
    time.sleep(0.2)
    stub = gv.map_response_stub([gv.tower(gv.EMSMDB, port, tower_ip(server))], 4)
    answer = gv.cl_pdu(gv.CL_RESPONSE, 0, stub, server_boot=gv.CL_SERVER_BOOT)
    client = local_addr(server)
    sendp(frame(router_mac, server, client) / UDP(sport=EPM, dport=cport) / answer,
          iface=IFACE)
    try:
        received = s.recvfrom(65535)[0] == answer
    except socket.timeout:
        received = False
    s.close()
    print(json.dumps({"event": "udp", "client_port": cport, "forged_port": port,
                      "received": received}))
    return 0


def forge_midstream(server, client, router_mac, port):
    """Both halves raw: nothing but the client ever speaks."""
    cport = random.randint(40000, 60000)
    cseq, sseq = random.getrandbits(32), random.getrandbits(32)
    halves = [("c", gv.bind(1)), ("s", gv.bind_ack(1, str(EPM))),
              ("c", map_request(2)), ("s", map_answer(2, server, port))]
    for side, payload in halves:
        if side == "c":
            seg = frame(router_mac, client, server) / TCP(
                sport=cport, dport=EPM, flags="PA", seq=cseq, ack=sseq, window=64240)
            cseq = (cseq + len(payload)) & 0xffffffff
        else:
            seg = frame(router_mac, server, client) / TCP(
                sport=EPM, dport=cport, flags="PA", seq=sseq, ack=cseq, window=64240)
            sseq = (sseq + len(payload)) & 0xffffffff
        sendp(seg / payload, iface=IFACE)
        time.sleep(0.05)
    print(json.dumps({"event": "midstream", "client_port": cport, "forged_port": port}))
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve-slow":
        serve_slow(args[0], float(args[1]), int(args[2]))
    elif cmd == "tcp":
        return forge_tcp(args[0], args[1], int(args[2]))
    elif cmd == "udp":
        return forge_udp(args[0], args[1], int(args[2]))
    elif cmd == "midstream":
        return forge_midstream(args[0], args[1], args[2], int(args[3]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
