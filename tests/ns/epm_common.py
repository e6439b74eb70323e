"""Shared by epm_server.py and epm_client.py (run with Debian's /usr/bin/python3).

Interface names, interface specs ("EMSMDB", "NSPI=49160",
"a4f1db00-ca47-1067-b31f-00dd010662da:0.81=auto") and protocol towers,
built and read with impacket's epm floor structures.
"""
import socket
import struct

from impacket.dcerpc.v5 import epm
from impacket.uuid import bin_to_string, uuidtup_to_bin

NDR32 = ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')
NDR64 = ('71710533-beba-4937-8319-b5dbef9ccc36', '1.0')
EPM_IF = ('e1af8308-5d1f-11c9-91a4-08002b14a0fa', '3.0')
# bind time feature negotiation: abstract syntax any, transfer 6cb71c2c-9812-4540-XXXX
BTFN_PREFIX = bytes.fromhex('2c1cb76c12984045')

EPT_S_NOT_REGISTERED = 0x16c9a0d6

# name -> (uuid, "major.minor")
KNOWN = {
    'EMSMDB': ('a4f1db00-ca47-1067-b31f-00dd010662da', '0.81'),
    'ASYNCEMSMDB': ('5261574a-4572-206e-b268-6b199213b4e4', '0.1'),
    'NSPI': ('f5cc5a18-4264-101a-8c59-08002b2f8426', '56.0'),
    'RFR': ('1544f5e0-613c-11d1-93df-00c04fd7bd09', '1.0'),
    'SAMR': ('12345778-1234-abcd-ef00-0123456789ac', '1.0'),
    'LSARPC': ('12345778-1234-abcd-ef00-0123456789ab', '0.0'),
    'NETLOGON': ('12345678-1234-abcd-ef00-01234567cffb', '1.0'),
    'SRVSVC': ('4b324fc8-1670-01d3-1278-5a47bf6ee188', '3.0'),
    'WKSSVC': ('6bffd098-a112-3610-9833-46c3f87e345a', '1.0'),
    'WINREG': ('338cd001-2244-31f1-aaaa-900038001003', '1.0'),
    'DSSETUP': ('3919286a-b10c-11d0-9ba8-00c04fd92ef5', '0.0'),
    'NETDFS': ('4fc742e0-4a10-11cf-8273-00aa004ae673', '3.0'),
    'DRSUAPI': ('e3514235-4b06-11d1-ab04-00c04fc2dcd2', '4.0'),
    'EPM': EPM_IF,
}
BY_UUID = {u.lower(): n for n, (u, _v) in KNOWN.items()}


class Iface:
    """One interface: name, uuid (lower-case string), version "maj.min", port."""

    def __init__(self, name, uuid, version, port=None):
        self.name, self.uuid, self.version, self.port = name, uuid.lower(), version, port

    @property
    def major(self):
        return int(self.version.split('.')[0])

    @property
    def minor(self):
        return int(self.version.split('.')[1])

    def bin(self):
        """20 bytes: uuid + major + minor, as in a presentation context."""
        return uuidtup_to_bin((self.uuid, self.version))

    def as_json(self):
        return {'name': self.name, 'uuid': self.uuid, 'version': self.version,
                'port': self.port}


def parse_iface(spec):
    """NAME | UUID | UUID:MAJ.MIN, optionally followed by =PORT or =auto."""
    port = None
    if '=' in spec:
        spec, p = spec.split('=', 1)
        port = None if p in ('', 'auto') else int(p)
    version = None
    if ':' in spec:
        spec, version = spec.split(':', 1)
        version = version.lstrip('vV')
        if '.' not in version:
            version += '.0'
    up = spec.upper()
    if up in KNOWN:
        uuid, v = KNOWN[up]
        return Iface(up, uuid, version or v, port)
    if len(spec) == 36 and spec.count('-') == 4:
        name = BY_UUID.get(spec.lower(), spec.lower())
        v = version or (KNOWN[name][1] if name in KNOWN else '1.0')
        return Iface(name, spec, v, port)
    raise ValueError('unknown interface %r (a name from %s, or a UUID[:MAJ.MIN])'
                     % (spec, ', '.join(sorted(KNOWN))))


def iface_name(uuid):
    return BY_UUID.get(uuid.lower(), uuid.lower())


# ------------------------------------------------------------------ towers

def build_floors(iface, port, addr='0.0.0.0', proto=0x07, ndr=NDR32):
    """The five floors of a connection-oriented TCP tower (proto 0x07 = TCP,
    0x1f = HTTP), as a list of byte strings (impacket epm floor structures)."""
    b = iface.bin()
    f1 = epm.EPMRPCInterface()
    f1['InterfaceUUID'] = b[:16]
    f1['MajorVersion'] = struct.unpack('<H', b[16:18])[0]
    f1['MinorVersion'] = struct.unpack('<H', b[18:20])[0]
    nb = uuidtup_to_bin(ndr)
    f2 = epm.EPMRPCDataRepresentation()
    f2['DataRepUuid'] = nb[:16]
    f2['MajorVersion'] = struct.unpack('<H', nb[16:18])[0]
    f2['MinorVersion'] = struct.unpack('<H', nb[18:20])[0]
    f3 = epm.EPMProtocolIdentifier()
    f3['ProtIdentifier'] = 0x0b          # RPC connection-oriented (ncacn)
    f4 = epm.EPMPortAddr()
    f4['PortIdentifier'] = proto
    f4['IpPort'] = port
    f5 = epm.EPMHostAddr()
    f5['Ip4addr'] = socket.inet_aton(addr)
    return [f.getData() for f in (f1, f2, f3, f4, f5)]


def build_tower(iface, port, addr='0.0.0.0', floors=None):
    floors = floors or build_floors(iface, port, addr)
    t = epm.EPMTower()
    t['NumberOfFloors'] = len(floors)
    t['Floors'] = b''.join(floors)
    return t.getData()


def parse_tower(data):
    """Strictly parse a tower: returns a dict, or raises ValueError."""
    if len(data) < 2:
        raise ValueError('tower shorter than its floor count')
    n = struct.unpack_from('<H', data)[0]
    off, floors = 2, []
    for i in range(n):
        if off + 2 > len(data):
            raise ValueError('floor %d: lhs length past the tower' % (i + 1))
        ll = struct.unpack_from('<H', data, off)[0]
        off += 2
        if off + ll > len(data):
            raise ValueError('floor %d: lhs (%d bytes) past the tower' % (i + 1, ll))
        lhs = data[off:off + ll]
        off += ll
        if off + 2 > len(data):
            raise ValueError('floor %d: rhs length past the tower' % (i + 1))
        rl = struct.unpack_from('<H', data, off)[0]
        off += 2
        if off + rl > len(data):
            raise ValueError('floor %d: rhs (%d bytes) past the tower' % (i + 1, rl))
        floors.append((lhs, data[off:off + rl]))
        off += rl
    out = {'floors': n}
    if n >= 1 and len(floors[0][0]) == 19 and floors[0][0][0] == 0x0d:
        lhs, rhs = floors[0]
        out['uuid'] = bin_to_string(lhs[1:17]).lower()
        minor = struct.unpack('<H', rhs[:2])[0] if len(rhs) >= 2 else 0
        out['version'] = '%d.%d' % (struct.unpack('<H', lhs[17:19])[0], minor)
        out['iface'] = iface_name(out['uuid'])
    for lhs, rhs in floors[3:]:
        if not lhs:
            continue
        p = lhs[0]
        if p in (0x07, 0x08, 0x1f) and len(rhs) == 2:
            out['proto'] = {0x07: 'tcp', 0x08: 'udp', 0x1f: 'http'}[p]
            out['port'] = struct.unpack('>H', rhs)[0]
        elif p == 0x09 and len(rhs) == 4:
            out['addr'] = socket.inet_ntoa(rhs)
        elif p == 0x0f:
            out['proto'] = 'np'
            out['pipe'] = rhs.rstrip(b'\0').decode('latin-1')
        elif p == 0x10:
            out['proto'] = 'lrpc'
            out['endpoint'] = rhs.rstrip(b'\0').decode('latin-1')
        elif p in (0x01, 0x11):
            out['host'] = rhs.rstrip(b'\0').decode('latin-1')
    return out
