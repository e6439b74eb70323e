"""Read tshark PDML on stdin, print one TSV line per endpoint advertised in an
EPM response: client, server, iface, proto, port.

Towers are taken from the dissection tree, not from flat field lists, so that
each port stays tied to the floor-1 UUID of its own tower when a response
carries several towers (or a frame carries several responses)."""
import socket
import sys
import uuid
import xml.etree.ElementTree as ET

PORT_FIELDS = {
    "epm.proto.tcp_port": "tcp",    # floor protocol 0x07
    "epm.proto.udp_port": "udp",    # 0x08
    "epm.proto.http_port": "http",  # 0x1f
}
EPM_LOOKUP, EPM_MAP = "2", "3"
PKT_RESPONSE = "2"


def canon_ip(text, family):
    return socket.inet_ntop(family, socket.inet_pton(family, text))


def field(node, name):
    f = node.find(f"field[@name='{name}']")
    return None if f is None else f.get("show")


def towers(epm):
    """Yield (iface, proto, port) for each tower under an epm proto node."""
    for node in epm.iter("field"):
        if node.find("field[@name='epm.tower.num_floors']") is None:
            continue
        # Each floor is a subtree of the tower node holding its proto_id.
        floors = [f for f in node if f.find("field[@name='epm.tower.proto_id']") is not None]
        if not floors or field(floors[0], "epm.uuid") is None:
            continue
        iface = str(uuid.UUID(field(floors[0], "epm.uuid")))
        for floor in floors:
            for name, proto in PORT_FIELDS.items():
                port = field(floor, name)
                if port is not None:
                    yield iface, proto, int(port)


def packet_lines(packet):
    src = dst = pkt_type = None
    for proto in packet.findall("proto"):
        name = proto.get("name")
        if name in ("ip", "ipv6"):
            family = socket.AF_INET if name == "ip" else socket.AF_INET6
            src = canon_ip(field(proto, name + ".src"), family)
            dst = canon_ip(field(proto, name + ".dst"), family)
        elif name == "dcerpc":
            pkt_type = field(proto, "dcerpc.pkt_type")
        elif name == "epm" and pkt_type == PKT_RESPONSE \
                and field(proto, "epm.opnum") in (EPM_LOOKUP, EPM_MAP):
            for iface, proto_name, port in towers(proto):
                yield f"{dst}\t{src}\t{iface}\t{proto_name}\t{port}"


def main():
    try:
        for _, elem in ET.iterparse(sys.stdin.buffer):
            if elem.tag == "packet":
                for line in packet_lines(elem):
                    print(line)
                elem.clear()
    except ET.ParseError as e:
        sys.exit(f"pdml_endpoints.py: incomplete PDML from tshark ({e})")


if __name__ == "__main__":
    main()
