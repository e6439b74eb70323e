#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets other than fuzz_decoder
(whose seeds make_corpus.py writes) from the project's vectors alone:

    python3 tests/fuzz/make_seeds.py

  corpus-packets/    fuzz_packets.c records: each vector's IP packets in
                     capture order, then conversations of many clients and
                     servers in one table (more than its 8 flows), IPv4 and
                     IPv6, interleaved, with ingress bytes set
  corpus-dcerpc_cl/  fuzz_dcerpc_cl.c records: the UDP vectors' datagrams
  corpus-replay/     fuzz_replay.c inputs: a mode byte, then a capture
                     file: small vectors as pcap (micro- and nanosecond,
                     both byte orders), pcapng, gzip, and in every link
                     layer replay.c reads (raw IP, Linux cooked v1 and v2,
                     802.1Q and QinQ tags, BSD loopback)

Standard library only (no scapy): the vectors are classic pcap with
Ethernet framing.  Deterministic; *.seed files the run does not produce
are removed, except repro-*: inputs from fuzzing findings, kept as
regressions (make_corpus.py, which shares write_corpus, keeps them too).
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(os.path.dirname(HERE), "vectors")
MAX_SEED = 8 * 1024

C_IDLE, C_EXPIRE = 0x20, 0x40


def read_pcap(name):
    """(linktype, [(ts_sec, ts_usec, frame)]) of a classic pcap file."""
    with open(os.path.join(VECTORS, name), "rb") as f:
        data = f.read()
    magic, = struct.unpack("<I", data[:4])
    assert magic == 0xA1B2C3D4, name
    linktype, = struct.unpack("<I", data[20:24])
    frames, pos = [], 24
    while pos + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack("<IIII", data[pos:pos + 16])
        frames.append((sec, usec, data[pos + 16:pos + 16 + caplen]))
        pos += 16 + caplen
    return linktype, frames


def ip_packets(name):
    """The IP packets of an Ethernet vector (no VLAN tags in them)."""
    return [frame[14:] for _s, _u, frame in read_pcap(name)[1]]


def record(ctl, packet):
    return struct.pack("<BH", ctl, len(packet)) + packet


def rewrite(packet, client_last, server_last, client_port_delta):
    """The packet with the last byte of the client's and the server's
    address and the client's port changed (checksums are not checked)."""
    p = bytearray(packet)
    if p[0] >> 4 == 4:
        src, dst, transport = 12 + 3, 16 + 3, (p[0] & 15) * 4
    else:
        src, dst, transport = 8 + 15, 24 + 15, 40
    sport, dport = struct.unpack(">HH", p[transport:transport + 4])
    from_client = dport in (135, 593)
    c, s = (src, dst) if from_client else (dst, src)
    p[c], p[s] = client_last, server_last
    port_at = transport if from_client else transport + 2
    port = (sport if from_client else dport) + client_port_delta
    p[port_at:port_at + 2] = struct.pack(">H", port & 0xFFFF)
    return bytes(p)


def many_flows(vector, n_clients, n_servers, ifindex):
    """One vector's conversation between every client and server, packets
    interleaved round-robin: more conversations than the table holds."""
    packets = ip_packets(vector)
    convs = [[rewrite(p, 10 + c, 20 + s, c * 7 + s) for p in packets]
             for c in range(n_clients) for s in range(n_servers)]
    out = bytearray()
    for i in range(max(len(c) for c in convs)):
        for k, conv in enumerate(convs):
            if i < len(conv):
                out += record((ifindex + k) & 0x1F, conv[i])
    return bytes(out)


def packets_seeds():
    seeds = {}
    for name in sorted(os.listdir(VECTORS)):
        if not name.endswith(".pcap"):
            continue
        seed = b"".join(record(0x01, p) for p in ip_packets(name))
        if len(seed) <= MAX_SEED:
            seeds[f"vector-{name[:-5]}.seed"] = seed
    # handshakes only: 12 clients to 1 server, over the 8-flow cap
    syns = [p for p in ip_packets("le_map.pcap")[:3]]
    seeds["syn-flood-12.seed"] = b"".join(
        record(0x02, rewrite(p, 10 + c, 20, c)) for c in range(12) for p in syns[:1])
    seeds["many-v4-3x3.seed"] = many_flows("le_map.pcap", 3, 3, 1)[:MAX_SEED]
    seeds["many-v6-3x2.seed"] = many_flows("ipv6.pcap", 3, 2, 3)[:MAX_SEED]
    seeds["many-udp-4x2.seed"] = many_flows("udp_map.pcap", 4, 2, 5)[:MAX_SEED]
    # a conversation, then the clock past the idle timeout, expiry, and the
    # same conversation again
    conv = b"".join(record(0x01, p) for p in ip_packets("le_map.pcap"))
    seeds["idle-expire-again.seed"] = conv + record(C_IDLE | C_EXPIRE, ip_packets("le_map.pcap")[0]) + conv
    return seeds


def dcerpc_cl_seeds():
    seeds = {}
    for name in ("udp_map.pcap", "udp_map_fragmented.pcap"):
        out = bytearray()
        for p in ip_packets(name):
            sport, dport = struct.unpack(">HH", p[20:24])
            out += record(1 if sport == 135 else 0, p[28:])
        seeds[f"vector-{name[:-5]}.seed"] = bytes(out)
    return seeds


def pcap_file(linktype, frames, nano=False, big=False):
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = bytearray(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype))
    for sec, usec, frame in frames:
        frac = usec * 1000 if nano else usec
        out += struct.pack(e + "IIII", sec, frac, len(frame), len(frame)) + frame
    return bytes(out)


def pcapng_file(linktype, frames):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", linktype, 0, 65535))
    for sec, usec, frame in frames:
        ts = sec * 1000000 + usec
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF,
                                    len(frame), len(frame)) + frame)
    return out


def relink(frames, make):
    return [(s, u, make(f)) for s, u, f in frames]


def replay_seeds():
    seeds = {}
    _lt, frames = read_pcap("le_map.pcap")
    ip = relink(frames, lambda f: f[14:])
    variants = {
        "ether.pcap": pcap_file(1, frames),
        "ether-nano-be.pcap": pcap_file(1, frames, nano=True, big=True),
        "ether.pcapng": pcapng_file(1, frames),
        "raw.pcap": pcap_file(101, ip),
        "ipv4.pcap": pcap_file(228, ip),
        "null.pcap": pcap_file(0, relink(ip, lambda f: struct.pack("<I", 2) + f)),
        "sll.pcap": pcap_file(113, relink(ip, lambda f: struct.pack(">HHH8sH", 0, 1, 6, b"\0" * 8, 0x0800) + f)),
        "sll2.pcap": pcap_file(276, relink(ip, lambda f: struct.pack(">HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\0" * 8) + f)),
        "vlan.pcap": pcap_file(1, relink(frames, lambda f: f[:12] + b"\x81\x00\x00\x07" + f[12:])),
        "qinq.pcap": pcap_file(1, relink(frames, lambda f: f[:12] + b"\x88\xa8\x00\x05\x81\x00\x00\x07" + f[12:])),
    }
    variants["ether.pcap.gz"] = gzip.compress(variants["ether.pcap"], mtime=0)
    variants["ether.pcapng.gz"] = gzip.compress(variants["ether.pcapng"], mtime=0)
    for name, data in variants.items():
        seeds[f"le_map-{name}.seed"] = b"\x01" + data
    # the port-pinning report, as text and as JSON
    seeds["report-le_map-ether.pcap.seed"] = b"\x02" + variants["ether.pcap"]
    seeds["report-json-le_map-ether.pcap.seed"] = b"\x06" + variants["ether.pcap"]
    for name in sorted(os.listdir(VECTORS)):
        if name.endswith(".pcap") and name != "le_map.pcap":
            with open(os.path.join(VECTORS, name), "rb") as f:
                data = f.read()
            if len(data) <= MAX_SEED:
                seeds[f"vector-{name}.seed"] = b"\x01" + data
    return seeds


def write_corpus(out, seeds, suffix):
    """Writes {name: bytes} into the directory out, and removes the files
    ending in suffix there that seeds does not name, except the inputs kept
    from fuzzing findings (repro-*)."""
    os.makedirs(out, exist_ok=True)
    for old in sorted(os.listdir(out)):
        if old.endswith(suffix) and old not in seeds and not old.startswith("repro-"):
            os.remove(os.path.join(out, old))
    for name, seed in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed)
        print(f"{len(seed):6d}  {name}")
    print(f"{len(seeds)} seeds in {os.path.relpath(out)}")


def main():
    for corpus, seeds in (("corpus-packets", packets_seeds()),
                          ("corpus-dcerpc_cl", dcerpc_cl_seeds()),
                          ("corpus-replay", replay_seeds())):
        write_corpus(os.path.join(HERE, corpus), seeds, ".seed")


if __name__ == "__main__":
    main()
