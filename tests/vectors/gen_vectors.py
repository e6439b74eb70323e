#!/usr/bin/python3
"""Write the synthetic EPM test vectors (classic pcap) next to this script.

Deterministic: fixed timestamps, ISNs, ports, MACs and NDR referent ids, so a
rerun reproduces the files byte for byte.  DCE/RPC PDUs and EPM stubs come from
impacket (little-endian NDR and NDR64), except for be_drep.pcap whose
big-endian encoding impacket cannot produce (see "Big-endian encoder" below);
scapy does the Ethernet/IP/TCP framing.  Run with /usr/bin/python3, which has
python3-impacket and python3-scapy.
"""
import os
import sys
import socket
import struct
import uuid

from impacket.dcerpc.v5 import epm
from impacket.dcerpc.v5.ndr import NULL
from impacket.dcerpc.v5.rpcrt import (
    MSRPC_BIND, MSRPC_BINDACK, MSRPC_REQUEST, MSRPC_RESPONSE, PFC_FIRST_FRAG, PFC_LAST_FRAG,
    CtxItem, CtxItemResult, MSRPCBind, MSRPCBindAck, MSRPCHeader,
    MSRPCRequestHeader, MSRPCRespHeader)
from impacket.uuid import string_to_bin, uuidtup_to_bin
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

# Usage: gen_vectors.py [OUTDIR]   (default: beside this script)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

CLIENT4, SERVER4 = "192.0.2.10", "198.51.100.20"
CLIENT6, SERVER6 = "2001:db8:1::10", "2001:db8:2::20"
CLIENT_MAC, SERVER_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:14"
CLIENT_PORT = 49700
CLIENT_ISN, SERVER_ISN = 1000000, 2000000
START = 1704067200          # 2024-01-01T00:00:00Z; packets are 1 ms apart
WINDOW = 64240
FIN, SYN, PSH, ACK = 0x01, 0x02, 0x08, 0x10

EPM_SYNTAX = ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", "3.0")
NDR_SYNTAX = ("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0")
NDR64_SYNTAX = ("71710533-beba-4937-8319-b5dbef9ccc36", "1.0")

EMSMDB = ("a4f1db00-ca47-1067-b31f-00dd010662da", 0, 81)
NSPI = ("f5cc5a18-4264-101a-8c59-08002b2f8426", 56, 0)
RFR = ("1544f5e0-613c-11d1-93df-00c04fd7bd09", 1, 0)
ASYNC_EMSMDB = ("5261574a-4572-206e-b268-6b199213b4e4", 0, 1)
ANNOTATIONS = {
    EMSMDB: "MS Exchange MAPI Interface",
    NSPI: "MS Exchange Directory NSP Interface",
    RFR: "MS Exchange Directory RFR Interface",
    ASYNC_EMSMDB: "MS Exchange Async MAPI Interface",
}

FLOOR_TCP, FLOOR_HTTP = 0x07, 0x1f
FLOOR_RPC_CO = 0x0b
OP_LOOKUP, OP_MAP = 2, 3
FRAG_5840 = 5840            # max_xmit_frag / max_recv_frag, as Windows offers


# --- Towers (byte strings; always little-endian, whatever the NDR drep) ---

def tower(iface, port, ip, port_floor=FLOOR_TCP):
    uuid_str, major, minor = iface
    floor1 = epm.EPMRPCInterface()
    floor1["InterfaceUUID"] = string_to_bin(uuid_str)
    floor1["MajorVersion"], floor1["MinorVersion"] = major, minor
    floor2 = epm.EPMRPCDataRepresentation()
    floor2["DataRepUuid"] = string_to_bin(NDR_SYNTAX[0])
    floor2["MajorVersion"], floor2["MinorVersion"] = 2, 0
    floor3 = epm.EPMProtocolIdentifier()
    floor3["ProtIdentifier"] = FLOOR_RPC_CO
    floor4 = epm.EPMPortAddr()
    floor4["PortIdentifier"], floor4["IpPort"] = port_floor, port
    floor5 = epm.EPMHostAddr()
    floor5["Ip4addr"] = socket.inet_aton(ip)
    t = epm.EPMTower()
    t["NumberOfFloors"] = 5
    t["Floors"] = b"".join(f.getData() for f in (floor1, floor2, floor3, floor4, floor5))
    return t.getData()


# --- EPM stubs with impacket (NDR or NDR64, little-endian) ---
# impacket draws pointer referent ids at random; they are set explicitly here
# (Windows numbers them from 1 in requests and from 3 in responses).

def twr_pointer(octets, referent, ndr64):
    p = epm.twr_p_t(isNDR64=ndr64)
    p["tower_length"] = len(octets)
    p["tower_octet_string"] = octets
    p.fields["ReferentID"] = referent
    return p


def null_handle(call):
    call["entry_handle"]["context_handle_attributes"] = 0
    call["entry_handle"]["context_handle_uuid"] = b"\0" * 16


def map_request_stub(map_tower, max_towers, ndr64=False):
    req = epm.ept_map(isNDR64=ndr64)
    req["obj"] = NULL
    req["map_tower"]["tower_length"] = len(map_tower)
    req["map_tower"]["tower_octet_string"] = map_tower
    req.fields["map_tower"].fields["ReferentID"] = 2
    null_handle(req)
    req["max_towers"] = max_towers
    return req.getData()


def map_response_stub(towers, max_towers, ndr64=False):
    resp = epm.ept_mapResponse(isNDR64=ndr64)
    null_handle(resp)
    resp["num_towers"] = len(towers)
    resp["ITowers"] = [twr_pointer(t, 3 + i, ndr64) for i, t in enumerate(towers)]
    resp.fields["ITowers"].fields["MaximumCount"] = max_towers
    resp["status"] = 0
    return resp.getData()


def lookup_request_stub(max_ents):
    req = epm.ept_lookup()
    req["inquiry_type"] = 0          # RPC_C_EP_ALL_ELTS
    req["object"] = NULL
    req["Ifid"] = NULL
    req["vers_option"] = 1           # RPC_C_VERS_ALL
    null_handle(req)
    req["max_ents"] = max_ents
    return req.getData()


def lookup_response_stub(entries, max_ents):
    """entries: (object uuid text, tower octets, annotation text)."""
    resp = epm.ept_lookupResponse()
    null_handle(resp)  # every entry returned at once: no handle to continue
    resp["num_ents"] = len(entries)
    items = []
    for i, (obj, octets, annotation) in enumerate(entries):
        e = epm.ept_entry_t()
        e["object"] = string_to_bin(obj)
        e.fields["tower"] = twr_pointer(octets, 3 + i, False)
        e["annotation"] = list((annotation + "\0").encode())
        items.append(e)
    resp["entries"] = items
    resp.fields["entries"].fields["MaximumCount"] = max_ents
    resp["status"] = 0
    return resp.getData()


# --- DCE/RPC connection-oriented PDUs with impacket (little-endian drep) ---

def bind(call_id, transfer=NDR_SYNTAX):
    body = MSRPCBind()
    body["max_tfrag"] = body["max_rfrag"] = FRAG_5840
    item = CtxItem()
    item["ContextID"], item["TransItems"] = 0, 1
    item["AbstractSyntax"] = uuidtup_to_bin(EPM_SYNTAX)
    item["TransferSyntax"] = uuidtup_to_bin(transfer)
    body.addCtxItem(item)
    pdu = MSRPCHeader()
    pdu["type"], pdu["call_id"] = MSRPC_BIND, call_id
    pdu["pduData"] = body.getData()
    return pdu.getData()


def bind_ack(call_id, secondary_addr, transfer=NDR_SYNTAX):
    result = CtxItemResult()
    result["Result"] = result["Reason"] = 0          # acceptance
    result["TransferSyntax"] = uuidtup_to_bin(transfer)
    pdu = MSRPCBindAck()
    pdu["type"], pdu["call_id"] = MSRPC_BINDACK, call_id
    pdu["flags"] = PFC_FIRST_FRAG | PFC_LAST_FRAG
    pdu["max_tfrag"] = pdu["max_rfrag"] = FRAG_5840
    pdu["assoc_group"] = 0x00012f2e
    pdu["SecondaryAddr"] = secondary_addr
    pdu["SecondaryAddrLen"] = len(secondary_addr) + 1
    pdu["Pad"] = b"\0" * ((4 - (len(secondary_addr) + 1 + MSRPCBindAck._SIZE) % 4) % 4)
    pdu["ctx_num"] = 1
    pdu["ctx_items"] = result.getData()
    pdu["frag_len"] = 0
    pdu["frag_len"] = len(pdu.getData())   # impacket computes it for other PDU types only
    return pdu.getData()


def request(call_id, opnum, stub):
    pdu = MSRPCRequestHeader()
    pdu["call_id"], pdu["op_num"] = call_id, opnum
    pdu["alloc_hint"] = len(stub)
    pdu["pduData"] = stub
    return pdu.getData()


def responses(call_id, stub, frag_stub=FRAG_5840 - 24):
    """The response PDUs carrying stub, cut into fragments of frag_stub bytes
    (a multiple of 8); alloc_hint counts the stub bytes still to come."""
    chunks = [stub[i:i + frag_stub] for i in range(0, len(stub), frag_stub)]
    pdus = []
    for n, chunk in enumerate(chunks):
        pdu = MSRPCRespHeader()
        pdu["type"], pdu["call_id"] = MSRPC_RESPONSE, call_id
        pdu["flags"] = (PFC_FIRST_FRAG if n == 0 else 0) | \
            (PFC_LAST_FRAG if n == len(chunks) - 1 else 0)
        pdu["alloc_hint"] = len(stub) - n * frag_stub
        pdu["pduData"] = chunk
        pdus.append(pdu.getData())
    return pdus


# --- Big-endian encoder (be_drep.pcap only) ---
# impacket's Structure formats are hard-wired little-endian ('<'), so the
# big-endian conversation (drep 00 00 00 00) is encoded here by hand: the same
# PDUs and ept_map stubs as above with every NDR integer, and the integer
# fields of NDR uuids, big-endian.  Tower octets stay little-endian.  The
# independent check of this encoder is tshark's dissection of be_drep.pcap.

BE_DREP = b"\x00\x00\x00\x00"


def be_pad4(data):
    return data + b"\0" * (-len(data) % 4)


def be_syntax(syntax):
    uuid_str, version = syntax
    major, minor = (int(v) for v in version.split("."))
    # if_version is one u32, major in the low 16 bits.
    return uuid.UUID(uuid_str).bytes + struct.pack(">I", major | minor << 16)


def be_pdu(ptype, call_id, body, flags=PFC_FIRST_FRAG | PFC_LAST_FRAG):
    return struct.pack(">BBBB4sHHI", 5, 0, ptype, flags, BE_DREP,
                       16 + len(body), 0, call_id) + body


def be_bind(call_id):
    body = struct.pack(">HHIBBH", FRAG_5840, FRAG_5840, 0, 1, 0, 0)
    body += struct.pack(">HBB", 0, 1, 0) + be_syntax(EPM_SYNTAX) + be_syntax(NDR_SYNTAX)
    return be_pdu(MSRPC_BIND, call_id, body)


def be_bind_ack(call_id, secondary_addr):
    port_spec = secondary_addr.encode() + b"\0"
    body = struct.pack(">HHIH", FRAG_5840, FRAG_5840, 0x00012f2e, len(port_spec)) + port_spec
    body += b"\0" * (-(16 + len(body)) % 4)
    body += struct.pack(">BBHHH", 1, 0, 0, 0, 0) + be_syntax(NDR_SYNTAX)
    return be_pdu(MSRPC_BINDACK, call_id, body)


def be_request(call_id, opnum, stub):
    return be_pdu(MSRPC_REQUEST, call_id, struct.pack(">IHH", len(stub), 0, opnum) + stub)


def be_response(call_id, stub):
    return be_pdu(MSRPC_RESPONSE, call_id, struct.pack(">IHBB", len(stub), 0, 0, 0) + stub)


def be_twr(octets):
    # twr_t is a conformant struct: max_count, tower_length, octets.
    return struct.pack(">II", len(octets), len(octets)) + octets


def be_map_request_stub(map_tower, max_towers):
    stub = struct.pack(">II", 0, 2)                     # obj NULL, map_tower referent
    stub = be_pad4(stub + be_twr(map_tower))
    return stub + struct.pack(">I16sI", 0, b"\0" * 16, max_towers)


def be_map_response_stub(towers, max_towers):
    stub = struct.pack(">I16sI", 0, b"\0" * 16, len(towers))
    stub += struct.pack(">III", max_towers, 0, len(towers))
    stub += b"".join(struct.pack(">I", 3 + i) for i in range(len(towers)))
    for octets in towers:
        stub = be_pad4(stub) + be_twr(octets)
    return be_pad4(stub) + struct.pack(">I", 0)        # status


# --- TCP framing with scapy ---

class Conversation:
    """One TCP connection between the client and the server, recorded as
    Ethernet frames with fixed ISNs and timestamps 1 ms apart."""

    def __init__(self, ipv6=False, server_port=135, mss=1460):
        self.ipv6, self.server_port, self.mss = ipv6, server_port, mss
        self.next_seq = {"c": CLIENT_ISN, "s": SERVER_ISN}
        self.frames = []

    def frame(self, side, flags, payload=b"", seq=None, options=()):
        """Append one segment; seq defaults to the side's next sequence
        number, which only advances for segments sent at that default."""
        peer = "s" if side == "c" else "c"
        if seq is None:
            seq = self.next_seq[side]
            self.next_seq[side] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        ack = self.next_seq[peer] if flags & ACK else 0
        if self.ipv6:
            src, dst = (CLIENT6, SERVER6) if side == "c" else (SERVER6, CLIENT6)
            ip = IPv6(src=src, dst=dst, hlim=64 if side == "c" else 128)
        else:
            src, dst = (CLIENT4, SERVER4) if side == "c" else (SERVER4, CLIENT4)
            ip = IP(src=src, dst=dst, ttl=64 if side == "c" else 128, id=len(self.frames) + 1)
        sport, dport = (CLIENT_PORT, self.server_port) if side == "c" else (self.server_port, CLIENT_PORT)
        mac_src, mac_dst = (CLIENT_MAC, SERVER_MAC) if side == "c" else (SERVER_MAC, CLIENT_MAC)
        pkt = Ether(src=mac_src, dst=mac_dst) / ip / TCP(
            sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
            window=WINDOW, options=list(options)) / payload
        pkt.time = START + len(self.frames) / 1000
        self.frames.append(pkt)

    def handshake(self):
        mss = [("MSS", self.mss)]
        self.frame("c", SYN, options=mss)
        self.frame("s", SYN | ACK, options=mss)
        self.frame("c", ACK)

    def send(self, side, data, segment=None):
        """Send data in segments of at most `segment` bytes (default: the
        MSS); the peer acks every second segment and the last one."""
        size = segment or self.mss
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        for n, chunk in enumerate(chunks):
            self.frame(side, PSH | ACK, chunk)
            if n % 2 == 1 or n == len(chunks) - 1:
                self.ack("s" if side == "c" else "c")

    def ack(self, side):
        self.frame(side, ACK)

    def close(self):
        self.frame("c", FIN | ACK)
        self.frame("s", FIN | ACK)
        self.frame("c", ACK)

    def write(self, name):
        wrpcap(os.path.join(OUT, name), self.frames)


# --- Vectors ---

def map_tower_request(iface, port_floor=FLOOR_TCP, port=135):
    # What Windows clients send: the wanted interface, their port, IP 0.0.0.0.
    return tower(iface, port, "0.0.0.0", port_floor)


def map_response_pdu(stub):
    (pdu,) = responses(2, stub)
    return pdu


def baseline(ipv6=False, mss=1460):
    """le_map / ipv6: bind, ept_map(EMSMDB) -> tcp/49160."""
    conv = Conversation(ipv6=ipv6, mss=mss)
    conv.handshake()
    conv.send("c", bind(1))
    conv.send("s", bind_ack(1, "135"))
    conv.send("c", request(2, OP_MAP, map_request_stub(map_tower_request(EMSMDB), 4)))
    ip = "0.0.0.0" if ipv6 else SERVER4
    conv.send("s", map_response_pdu(map_response_stub([tower(EMSMDB, 49160, ip)], 4)))
    conv.close()
    return conv


def le_map():
    baseline().write("le_map.pcap")


def ipv6():
    baseline(ipv6=True, mss=1440).write("ipv6.pcap")


def be_drep():
    conv = Conversation()
    conv.handshake()
    conv.send("c", be_bind(1))
    conv.send("s", be_bind_ack(1, "135"))
    conv.send("c", be_request(2, OP_MAP, be_map_request_stub(map_tower_request(EMSMDB), 4)))
    conv.send("s", be_response(2, be_map_response_stub([tower(EMSMDB, 49160, SERVER4)], 4)))
    conv.close()
    conv.write("be_drep.pcap")


def ndr64():
    conv = Conversation()
    conv.handshake()
    conv.send("c", bind(1, NDR64_SYNTAX))
    conv.send("s", bind_ack(1, "135", NDR64_SYNTAX))
    conv.send("c", request(2, OP_MAP, map_request_stub(map_tower_request(EMSMDB), 4, ndr64=True)))
    stub = map_response_stub([tower(EMSMDB, 49160, SERVER4)], 4, ndr64=True)
    conv.send("s", map_response_pdu(stub))
    conv.close()
    conv.write("ndr64.pcap")


def map_1byte_segments():
    conv = Conversation()
    conv.handshake()
    conv.send("c", bind(1))
    conv.send("s", bind_ack(1, "135"))
    conv.send("c", request(2, OP_MAP, map_request_stub(map_tower_request(EMSMDB), 4)))
    stub = map_response_stub([tower(EMSMDB, 49160, SERVER4)], 4)
    conv.send("s", map_response_pdu(stub), segment=1)
    conv.close()
    conv.write("map_1byte_segments.pcap")


def three_pdus_one_segment():
    """The client pipelines bind + two ept_map requests in one segment; the
    server answers bind_ack + both responses in one segment."""
    conv = Conversation()
    conv.handshake()
    conv.send("c", bind(1)
              + request(2, OP_MAP, map_request_stub(map_tower_request(EMSMDB), 4))
              + request(3, OP_MAP, map_request_stub(map_tower_request(NSPI), 4)))
    (emsmdb,) = responses(2, map_response_stub([tower(EMSMDB, 49160, SERVER4)], 4))
    (nspi,) = responses(3, map_response_stub([tower(NSPI, 49161, SERVER4)], 4))
    conv.send("s", bind_ack(1, "135") + emsmdb + nspi)
    conv.close()
    conv.write("three_pdus_one_segment.pcap")


def fragmented_response():
    """One ept_map response with three towers in three DCE fragments
    (FIRST, middle, LAST), each fragment in its own segment."""
    conv = Conversation()
    conv.handshake()
    conv.send("c", bind(1))
    conv.send("s", bind_ack(1, "135"))
    conv.send("c", request(2, OP_MAP, map_request_stub(map_tower_request(EMSMDB), 4)))
    towers = [tower(EMSMDB, 49160, SERVER4), tower(NSPI, 49161, SERVER4), tower(RFR, 49162, SERVER4)]
    frags = responses(2, map_response_stub(towers, 4), frag_stub=104)
    assert len(frags) == 3
    for frag in frags:
        conv.send("s", frag)
    conv.close()
    conv.write("fragmented_response.pcap")


def out_of_order():
    """The baseline response cut at bytes 50 and 100 and delivered as
    50..99, 100..end, then a retransmission of 30..119 (the same bytes,
    overlapping both while 0..29 is still missing), then 0..49, then an exact
    retransmission of 100..end; the client dup-acks as a receiver would."""
    conv = Conversation()
    conv.handshake()
    conv.send("c", bind(1))
    conv.send("s", bind_ack(1, "135"))
    conv.send("c", request(2, OP_MAP, map_request_stub(map_tower_request(EMSMDB), 4)))
    pdu = map_response_pdu(map_response_stub([tower(EMSMDB, 49160, SERVER4)], 4))
    base = conv.next_seq["s"]

    def segment(start, end):
        conv.frame("s", PSH | ACK, pdu[start:end], seq=base + start)

    segment(50, 100)
    conv.ack("c")                          # dup ack: byte 0 still missing
    segment(100, len(pdu))
    conv.ack("c")
    segment(30, 120)                       # overlaps both queued segments
    conv.ack("c")
    segment(0, 50)                         # fills the hole, overlaps 30..49
    conv.next_seq["s"] = base + len(pdu)
    conv.ack("c")
    segment(100, len(pdu))                 # exact retransmission of acked data
    conv.ack("c")
    conv.close()
    conv.write("out_of_order.pcap")


def lookup_300():
    """ept_lookup(all elements, max_ents 500) answered by 320 entries on
    ports 50000..50319, cycling through the four Exchange interfaces."""
    ifaces = (EMSMDB, NSPI, RFR, ASYNC_EMSMDB)
    entries = []
    for i in range(320):
        iface = ifaces[i % 4]
        obj = str(uuid.UUID(int=0x6e7f0000_0000_4000_8000_000000000000 | i))
        entries.append((obj, tower(iface, 50000 + i, SERVER4), ANNOTATIONS[iface]))
    conv = Conversation()
    conv.handshake()
    conv.send("c", bind(1))
    conv.send("s", bind_ack(1, "135"))
    conv.send("c", request(2, OP_LOOKUP, lookup_request_stub(500)))
    frags = responses(2, lookup_response_stub(entries, 500))
    assert len(frags) > 1
    conv.send("s", b"".join(frags))
    conv.close()
    conv.write("lookup_300.pcap")


def ncacn_http_593():
    """ncacn_http on 593: the server greets with the 14-byte banner, then
    plain connection-oriented DCE/RPC; the tower is ncacn_http/6004."""
    conv = Conversation(server_port=593)
    conv.handshake()
    conv.send("s", b"ncacn_http/1.0")
    conv.send("c", bind(1))
    conv.send("s", bind_ack(1, "593"))
    conv.send("c", request(2, OP_MAP, map_request_stub(
        map_tower_request(EMSMDB, FLOOR_HTTP, 593), 4)))
    stub = map_response_stub([tower(EMSMDB, 6004, SERVER4, FLOOR_HTTP)], 4)
    conv.send("s", map_response_pdu(stub))
    conv.close()
    conv.write("ncacn_http_593.pcap")



# --- Connectionless DCE/RPC on UDP 135 (ncadg_ip_udp) ---
# DCE 1.1 ch. 12 / MS-RPCE 2.2.3: an 80-byte header (scapy's DceRpc4, drep
# little-endian) then the body, which is the NDR stub itself (impacket's, as
# above).  The conversation is one activity; its first call has seqnum 0.
# (Imported here so that the TCP vectors above stay as they were.)

from scapy.layers.dcerpc import DceRpc4  # noqa: E402
from scapy.layers.inet import UDP  # noqa: E402

FLOOR_UDP, FLOOR_RPC_CL = 0x08, 0x0a
CL_CLIENT_PORT = 50000
CL_ACTIVITY = "6a3f1e52-8b0d-4c47-9e21-5d7c0b4a8f36"
CL_SERVER_BOOT = 0x65920080
CL_LASTFRAG, CL_FRAG, CL_NOFACK, CL_IDEMPOTENT = 0x02, 0x04, 0x08, 0x20
CL_REQUEST, CL_RESPONSE = 0, 2


def cl_tower(iface, port, ip):
    """tower() for ncadg_ip_udp: floor 3 RPC connectionless, floor 4 UDP."""
    octets = bytearray(tower(iface, port, ip, FLOOR_UDP))
    # floor 3's protocol id: after floor_count (2 bytes), floors 1 and 2
    # (25 bytes each: lhs_length, 0x0d + uuid + major, rhs_length, minor)
    # and floor 3's lhs_length
    at = 2 + 25 + 25 + 2
    assert octets[at] == FLOOR_RPC_CO
    octets[at] = FLOOR_RPC_CL
    return bytes(octets)


def cl_pdu(ptype, flags1, body, seqnum=0, fragnum=0, server_boot=0):
    """One CL PDU of the conversation's activity, to EPM v3 ept_map."""
    hdr = DceRpc4(ptype=ptype, flags1=flags1, endian=1,
                  object=uuid.UUID(int=0), if_id=uuid.UUID(EPM_SYNTAX[0]),
                  act_id=uuid.UUID(CL_ACTIVITY), server_boot=server_boot,
                  if_vers=3, seqnum=seqnum, opnum=OP_MAP, fragnum=fragnum,
                  serial_lo=fragnum)
    return bytes(hdr / body)


def cl_write(name, datagrams):
    """datagrams: (side, payload), as Ethernet/IPv4/UDP frames 1 ms apart."""
    frames = []
    for side, payload in datagrams:
        client = side == "c"
        pkt = Ether(src=CLIENT_MAC if client else SERVER_MAC,
                    dst=SERVER_MAC if client else CLIENT_MAC) / IP(
            src=CLIENT4 if client else SERVER4, dst=SERVER4 if client else CLIENT4,
            ttl=64 if client else 128, id=len(frames) + 1) / UDP(
            sport=CL_CLIENT_PORT if client else 135,
            dport=135 if client else CL_CLIENT_PORT) / payload
        pkt.time = START + len(frames) / 1000
        frames.append(pkt)
    wrpcap(os.path.join(OUT, name), frames)


def cl_map_request():
    stub = map_request_stub(cl_tower(EMSMDB, 135, "0.0.0.0"), 4)
    return cl_pdu(CL_REQUEST, CL_IDEMPOTENT | CL_NOFACK, stub)


def udp_map():
    """ept_map(EMSMDB) over UDP 135 answered in one datagram by a
    ncadg_ip_udp tower: udp/50500 at the server's address."""
    stub = map_response_stub([cl_tower(EMSMDB, 50500, SERVER4)], 4)
    cl_write("udp_map.pcap", [
        ("c", cl_map_request()),
        ("s", cl_pdu(CL_RESPONSE, 0, stub, server_boot=CL_SERVER_BOOT)),
    ])


def udp_map_fragmented():
    """udp_map with a three-tower answer (EMSMDB udp/50500, NSPI udp/50501,
    RFR udp/50502) in three fragments (fragnum 0, 1, 2; FRAG on all,
    LASTFRAG on 2), the last two swapped on the wire as UDP may deliver."""
    towers = [cl_tower(EMSMDB, 50500, SERVER4), cl_tower(NSPI, 50501, SERVER4),
              cl_tower(RFR, 50502, SERVER4)]
    stub = map_response_stub(towers, 4)
    cut = 104
    chunks = [stub[:cut], stub[cut:2 * cut], stub[2 * cut:]]
    assert all(chunks)
    frags = [cl_pdu(CL_RESPONSE, CL_FRAG | (CL_LASTFRAG if n == 2 else 0), chunk,
                    fragnum=n, server_boot=CL_SERVER_BOOT)
             for n, chunk in enumerate(chunks)]
    cl_write("udp_map_fragmented.pcap", [
        ("c", cl_map_request()), ("s", frags[0]), ("s", frags[2]), ("s", frags[1]),
    ])


VECTORS = [le_map, be_drep, ndr64, map_1byte_segments, three_pdus_one_segment,
           fragmented_response, out_of_order, lookup_300, ncacn_http_593, ipv6,
           udp_map, udp_map_fragmented]

if __name__ == "__main__":
    for make in VECTORS:
        make()
