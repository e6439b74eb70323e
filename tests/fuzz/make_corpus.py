#!/usr/bin/python3
"""Writes the seed corpus of tests/fuzz/fuzz_decoder.c into tests/fuzz/corpus/.

Run from anywhere with /usr/bin/python3 (it has scapy):

    /usr/bin/python3 tests/fuzz/make_corpus.py [CAPTURES_DIR]

CAPTURES_DIR defaults to ../shared/captures beside the repository, and
synthetic vectors are read from tests/vectors/.  Each TCP conversation with
port 135 becomes one seed in the harness's record format (see the comment
at the top of fuzz_decoder.c):

    flags u8 (0x01 server->client, 0x02 ACK, 0x04 FIN, 0x18 seq mode, 0x20 RST,
              0x80 UDP datagram, 0xa0 where a direction's packets come in)
    len u16 LE, [delta u16 LE when the seq mode is not 0], payload

Each UDP conversation with port 135 in the connectionless vectors becomes
one seed of UDP records, its datagrams in capture order.

Only segments with payload, FIN or RST are kept; the harness makes its own
handshake.  Sequence numbers are replayed faithfully: a segment that does
not start at its direction's high-water mark becomes an "ahead" or
"behind" record, so retransmissions and reordering in the capture survive.

Conversations whose sequence of (direction, segment length) was already
seen are skipped (the zerologon captures repeat one conversation hundreds
of times), as is anything over MAX_SEED bytes.  A few seeds are derived
from a real conversation by re-segmenting it (small segments sent in
reverse order, overlapping retransmissions), and one from the fragmented
vector whose joined stub outgrows the harness's per-call cap, so that the
fuzzer starts with the reassembly paths covered.  Output is deterministic: rerunning
rewrites the same files byte for byte; files named *.rec in the corpus
directory that the run does not produce are removed, except repro-*
(inputs from fuzzing findings, kept as regressions).
"""
import os
import struct
import sys

from scapy.all import IP, IPv6, TCP, UDP, rdpcap

from make_seeds import write_corpus

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")

EPM_PORT = 135
MAX_SEED = 6 * 1024
MAX_PER_CAPTURE = 3

F_DIR, F_ACK, F_FIN, F_RST, F_UDP = 0x01, 0x02, 0x04, 0x20, 0x80
F_INGRESS = F_UDP | F_RST
SEQ_IN_ORDER, SEQ_AHEAD, SEQ_BEHIND = 0x00, 0x08, 0x10

# Real captures, in the order their seeds are taken.
CAPTURES = [
    "zeek__dce-rpc__mapi.pcap",
    "corelight-zerologon__CVE-2020-1472_exploit_win2019.pcap",
    "corelight-zerologon__CVE-2020-1472_test_win2016.pcap",
    "suricata-verify__bug-5162__input.pcap",
    "scapy__test-pcaps__dcerpc_msnrpc.pcapng.gz",
    "scapy__test-pcaps__dcerpc_privacy_krb.pcapng.gz",
    "scapy__test-vector__dcerpc-uts__epm-map-request-frame.pcap",
    "suricata-verify__dcerpc-bind-no-frag-flag__input.pcap",
    "suricata-verify__smb2-07__20171220_smb_psexec_add_user.pcap",
    "zeek-EternalSafety__eternalchampion.pcap",
    "otrf__lateral_movement__covenant_dcom_iertutil_dll_hijack_WORKSTATION5_2020-10-09183000.cap",
    "otrf__discovery__empire_find_localadmin_smb_svcctl_OpenSCManager_2020-09-22021559.cap",
    "otrf__lateral_movement__empire_smbexec_dcerpc_smb_svcctl_WORKSTATION5_2020-09-20025716.cap",
    "otrf__lateral_movement__covenant_sharpsc_create_dcerpc_smb_svcctl_2020-08-06022635.cap",
]

# Synthetic vectors of the project (tests/vectors/): what no real capture
# has -- big-endian drep, NDR64, fragmented calls, ncacn_http, several
# PDUs per segment.  lookup_300 is left out: its answer exceeds the
# harness's caps and the seed size.
VECTORS = [
    "be_drep.pcap",
    "fragmented_response.pcap",
    "ndr64.pcap",
    "ncacn_http_593.pcap",
    "three_pdus_one_segment.pcap",
    "out_of_order.pcap",
    "map_1byte_segments.pcap",
]
VECTOR_PORTS = (135, 593)
# Connectionless vectors: datagrams on UDP 135.
UDP_VECTORS = [
    "udp_map.pcap",
    "udp_map_fragmented.pcap",
]


def record(flags, payload=b"", delta=None):
    if (flags & 0x18) == 0:
        assert delta is None
        return struct.pack("<BH", flags, len(payload)) + payload
    return struct.pack("<BHH", flags, len(payload), delta) + payload


def to_or_from(path, layer, ports):
    """Yields (key, dir, ip, header) for each `layer` (TCP or UDP) packet
    to or from one of `ports`; key names the conversation, dir is 0 from
    the client (the side not on `ports`), 1 from the server."""
    for p in rdpcap(path):
        if layer not in p:
            continue
        ip = p[IP] if IP in p else p[IPv6] if IPv6 in p else None
        if ip is None:
            continue
        h = p[layer]
        if h.dport in ports:
            yield (ip.src, h.sport, ip.dst, h.dport), 0, ip, h
        elif h.sport in ports:
            yield (ip.dst, h.dport, ip.src, h.sport), 1, ip, h


def conversations(path, ports):
    """Yields [(dir, seq, tcp flags, payload)] per TCP conversation."""
    current, order = {}, []  # key -> list being filled; lists in order
    for key, d, ip, t in to_or_from(path, TCP, ports):
        payload = bytes(t.payload)
        # trailing Ethernet padding is not TCP payload
        if ip.version == 4:
            payload = payload[: max(0, ip.len - ip.ihl * 4 - t.dataofs * 4)]
        flags = int(t.flags)
        if d == 0 and flags & 0x12 == 0x02 and current.get(key):
            # a new connection on the same ports
            del current[key]
        if key not in current:
            current[key] = []
            order.append(current[key])
        current[key].append((d, t.seq, flags, payload))
    yield from order


def udp_conversations(path, ports):
    """Yields [(dir, payload)] per UDP conversation (its client port)."""
    current = {}  # key -> datagrams; dicts keep the order keys came in
    for key, d, _ip, u in to_or_from(path, UDP, ports):
        # trailing Ethernet padding is not UDP payload
        current.setdefault(key, []).append(
            (d, bytes(u.payload)[: max(0, u.len - 8)]))
    yield from current.values()


def encode_udp(datagrams):
    """Turns captured datagrams into UDP records, in capture order."""
    return b"".join(record(F_UDP | (F_DIR if d else 0), payload)
                    for d, payload in datagrams)


def encode(segments):
    """Turns captured segments into records with faithful sequence numbers."""
    isn = [None, None]  # the sequence number before the first data byte
    high = [0, 0]  # relative end of the highest byte sent
    out = bytearray()
    for d, seq, flags, payload in segments:
        if flags & 0x02:  # SYN
            isn[d] = seq
            continue
        if not payload and not flags & 0x05:  # pure ACK
            continue
        if isn[d] is None:
            isn[d] = (seq - 1) & 0xFFFFFFFF
        rel = (seq - isn[d] - 1) & 0xFFFFFFFF
        if rel >= 0x80000000:
            rel -= 1 << 32
        f = (F_DIR if d else 0) | (F_ACK if flags & 0x10 else 0)
        f |= (F_FIN if flags & 0x01 else 0) | (F_RST if flags & 0x04 else 0)
        if rel == high[d]:
            out += record(f | SEQ_IN_ORDER, payload)
        elif rel > high[d] and rel - high[d] <= 0xFFFF:
            out += record(f | SEQ_AHEAD, payload, rel - high[d])
        elif rel < high[d] and high[d] - rel <= 0xFFFF:
            out += record(f | SEQ_BEHIND, payload, high[d] - rel)
        else:
            continue
        high[d] = max(high[d], rel + len(payload))
    return bytes(out)


def streams(segments):
    """The in-order payload of each direction, for the derived seeds."""
    data = [bytearray(), bytearray()]
    for d, _seq, _flags, payload in segments:
        data[d] += payload
    return data


def reversed_chunks(segments, size):
    """Every segment cut into `size`-byte pieces sent last piece first."""
    out = bytearray()
    for d, _seq, _flags, payload in segments:
        if not payload:
            continue
        f = (F_DIR if d else 0) | F_ACK
        pieces = [payload[i:i + size] for i in range(0, len(payload), size)]
        # the last piece lands ahead, each earlier one fills the gap
        # before the pieces already sent
        out += record(f | SEQ_AHEAD, pieces[-1], len(payload) - len(pieces[-1]))
        sent_end = len(payload) - len(pieces[-1])
        for piece in reversed(pieces[:-1]):
            # high-water mark is the segment's end; the piece starts at
            # sent_end - len(piece)
            start = sent_end - len(piece)
            out += record(f | SEQ_BEHIND, piece, len(payload) - start)
            sent_end = start
    return bytes(out)


def overlapping(segments):
    """Each segment's first half, then the whole segment again."""
    out = bytearray()
    for d, _seq, _flags, payload in segments:
        if not payload:
            continue
        f = (F_DIR if d else 0) | F_ACK
        half = payload[: len(payload) // 2]
        out += record(f, half)
        out += record(f | SEQ_BEHIND, payload, len(half))
    return bytes(out)


def pdus(data):
    """Splits one direction's bytes into DCE/RPC PDUs (little-endian)."""
    out, pos = [], 0
    while pos + 16 <= len(data):
        frag_len = data[pos + 8] | data[pos + 9] << 8
        out.append(bytes(data[pos:pos + frag_len]))
        pos += frag_len
    return out


def over_call_cap(segments, repeats):
    """A fragmented answer whose middle fragment comes `repeats` times.

    Same call, no FIRST/LAST flag: each copy extends the joined stub, so
    the harness's 1000-byte cap on a call is crossed.
    """
    client, server = (pdus(s) for s in streams(segments))
    frags = [p for p in server if p[2] == 2]
    middle = [p for p in frags if p[3] & 0x03 == 0][0]
    out = bytearray()
    out += record(F_ACK, client[0])  # bind
    out += record(F_DIR | F_ACK, server[0])  # bind_ack
    out += record(F_ACK, client[1])  # request
    out += record(F_DIR | F_ACK, frags[0])
    for _ in range(repeats):
        out += record(F_DIR | F_ACK, middle)
    out += record(F_DIR | F_ACK, frags[-1])
    return bytes(out)


def forged_answers(segments, marked):
    """The conversation with the client behind interface 2 and the server
    behind 3, each server PDU first forged: from the client's interface
    (the daemon's check) or with the kernel's reverse-path mark, and then
    its genuine copy (sent "behind": the forged copy moved the harness's
    high-water mark, the flow never saw those bytes).
    """
    client, server = (pdus(s) for s in streams(segments))
    out = bytearray(record(F_INGRESS, bytes([2])))
    genuine = record(F_INGRESS | F_DIR, bytes([3]))
    forged = record(F_INGRESS | F_DIR, bytes([3, 0, 1]) if marked else bytes([2]))
    for i, pdu in enumerate(server):
        if i < len(client):
            out += record(F_ACK, client[i])
        out += forged + record(F_DIR | F_ACK, pdu)
        out += genuine + record(F_DIR | F_ACK | SEQ_BEHIND, pdu, len(pdu))
    return bytes(out)


def shape(segments):
    return tuple((d, len(p)) for d, _s, f, p in segments if p or f & 0x05)


def main():
    captures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(REPO), "shared", "captures")
    seeds = {}
    seen = set()
    derived_from = None
    for name in CAPTURES:
        path = os.path.join(captures, name)
        if not os.path.exists(path):
            sys.exit(f"{path}: missing")
        stem = name.split(".")[0]
        n = 0
        for segs in conversations(path, (EPM_PORT,)):
            if n == MAX_PER_CAPTURE:
                break
            if shape(segs) in seen:
                continue
            seed = encode(segs)
            if not seed or len(seed) > MAX_SEED:
                continue
            seen.add(shape(segs))
            n += 1
            seeds[f"{stem}-{n}.rec"] = seed
            if derived_from is None and name.startswith("otrf__"):
                derived_from = (stem, segs)
    for name in VECTORS:
        path = os.path.join(REPO, "tests", "vectors", name)
        for i, segs in enumerate(conversations(path, VECTOR_PORTS), 1):
            seed = encode(segs)
            if seed and len(seed) <= MAX_SEED:
                seeds[f"vector-{name.split('.')[0]}-{i}.rec"] = seed
            if name == "fragmented_response.pcap" and i == 1:
                seeds["derived-fragmented_response-over-call-cap.rec"] = \
                    over_call_cap(segs, 12)
    for name in UDP_VECTORS:
        path = os.path.join(REPO, "tests", "vectors", name)
        for i, dgrams in enumerate(udp_conversations(path, (EPM_PORT,)), 1):
            seed = encode_udp(dgrams)
            if seed and len(seed) <= MAX_SEED:
                seeds[f"vector-{name.split('.')[0]}-{i}.rec"] = seed
    # one Windows client's ept_map conversation, re-segmented
    stem, segs = derived_from
    seeds["derived-otrf-ept_map-reversed16.rec"] = reversed_chunks(segs, 16)
    seeds["derived-otrf-ept_map-reversed3.rec"] = reversed_chunks(segs, 3)
    seeds["derived-otrf-ept_map-overlap.rec"] = overlapping(segs)
    seeds["derived-otrf-ept_map-hairpin.rec"] = forged_answers(segs, False)
    seeds["derived-otrf-ept_map-reverse-path.rec"] = forged_answers(segs, True)

    write_corpus(OUT, seeds, ".rec")


if __name__ == "__main__":
    main()
