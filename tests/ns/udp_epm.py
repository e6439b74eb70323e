#!/usr/bin/python3
"""Endpoint mapper over UDP 135 (connectionless DCE/RPC) for the lab, built
from the same encoders as tests/vectors/gen_vectors.py's udp_map.pcap
(scapy's DceRpc4 header, impacket's NDR stubs), which tshark checked.

  udp_epm.py serve ADDR PORT    answer every ept_map on ADDR:135 with a UDP
                                tower for EMSMDB at ADDR:PORT, and echo
                                datagrams on ADDR:PORT; until killed
  udp_epm.py map ADDR           ept_map over UDP; print the answer's port
  udp_epm.py ping ADDR PORT     one datagram to ADDR:PORT; exit 0 if echoed

Each command prints one JSON line.  Waits are bounded (1 s).
"""
import json
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
import gen_vectors as gv  # noqa: E402

TIMEOUT = 1.0


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_socket(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))
    return s


def echo(sock):
    while True:
        data, peer = sock.recvfrom(2048)
        sock.sendto(data, peer)


def serve(addr, port):
    # the tower's address floor is IPv4: 0.0.0.0 when asked over IPv6
    tower_ip = addr if family(addr) == socket.AF_INET else "0.0.0.0"
    answer = gv.cl_pdu(gv.CL_RESPONSE, 0,
                       gv.map_response_stub([gv.cl_tower(gv.EMSMDB, port, tower_ip)], 4),
                       server_boot=gv.CL_SERVER_BOOT)
    threading.Thread(target=echo, args=(udp_socket(addr, port),), daemon=True).start()
    epm = udp_socket(addr, 135)
    print(json.dumps({"event": "ready", "port": port}), flush=True)
    while True:
        data, peer = epm.recvfrom(65535)
        # a request of the one activity the client side uses
        if len(data) >= 80 and data[0] == 4 and data[1] == gv.CL_REQUEST:
            epm.sendto(answer, peer)
            print(json.dumps({"event": "map", "peer": peer[0]}), flush=True)


def exchange(addr, port, payload):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(payload, (addr, port))
    try:
        return s.recv(65535)
    except socket.timeout:
        return None


def mapped_port(answer):
    """The UDP port floor (0x08, big-endian) of the answer's only tower."""
    at = answer.find(bytes([0x01, 0x00, 0x08, 0x02, 0x00]))
    return struct.unpack(">H", answer[at + 5:at + 7])[0] if at >= 0 else None


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif cmd == "map":
        answer = exchange(sys.argv[2], 135, gv.cl_map_request())
        port = mapped_port(answer) if answer else None
        print(json.dumps({"event": "map", "answered": answer is not None, "port": port}))
        sys.exit(0 if port else 1)
    elif cmd == "ping":
        reply = exchange(sys.argv[2], int(sys.argv[3]), b"ping\n")
        print(json.dumps({"event": "ping", "echoed": reply == b"ping\n"}))
        sys.exit(0 if reply == b"ping\n" else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
