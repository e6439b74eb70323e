#!/usr/bin/python3
"""An Exchange-shaped DCE/RPC endpoint mapper for the namespace lab.

Run with Debian's /usr/bin/python3 (python3-impacket). It listens on
ADDR:135 (every --addr, IPv4 or IPv6) and answers, over ncacn_ip_tcp:

  bind / alter_context  EPM v3.0 in NDR; NDR64 only when the client offers
                        NDR64 and not NDR (bind time feature negotiation is
                        acknowledged, everything else rejected)
  ept_map    (opnum 3)  a TCP tower for a served interface (floor 4 = port,
                        floor 5 = the server's IPv4 address or 0.0.0.0);
                        EPT_S_NOT_REGISTERED (0x16c9a0d6) with no tower for
                        anything else
  ept_lookup (opnum 2)  every served interface, max_ents at a time

Each served interface also gets a trivial TCP service on its port (on every
--addr): accept, write "ok NAME\\n", close, so a client can prove it got
through. With --echo it does not close after the banner: it sends back
whatever the client sends until the client closes, ECHO_MAX (30) s at most,
so a long-lived connection can be watched (epm_client.py --hold).

Stub data is encoded with impacket's NDR structures (impacket.dcerpc.v5.epm)
and PDUs with impacket.dcerpc.v5.rpcrt headers, except for the hostile
answers NDR cannot express (see --hostile).

When every socket listens it prints one JSON line on stdout (and writes it to
--ready-file): {"event":"ready","pid":..,"epm":[...],"ifaces":[...],
"ports":{"EMSMDB":49160,...}}; then one JSON line per event (conn, bind, map,
lookup, banner) so a test can see what the server answered.

  epm_server.py --addr 198.51.100.20 --addr 2001:db8:2::20
  epm_server.py --addr 198.51.100.20 --iface EMSMDB=49160 --iface NSPI=49161
  epm_server.py --addr 198.51.100.20 --hostile third-host
  epm_server.py --addr 198.51.100.20 --echo

Hostile kinds (ept_map answers for served interfaces only; --hostile-iface
limits them to one interface; ept_lookup stays well-formed):
  malformed-tower   floor 4's lhs length (0x00ff) runs past the tower
  third-host        floor 5 advertises 203.0.113.99 (the port is the real one)
  port-135          the tower advertises port 135
  port-445          the tower advertises port 445 (and 445 serves the banner)
  many-towers       claims 100000 towers (num_towers, max/actual count) and
                    carries as many pointers+towers as fit in one 65535-byte
                    fragment, no status: truncated, ignores max_xmit_frag
  many-towers-frag  really sends 100000 tower pointers (the first one real,
                    the other 99999 NULL), then its tower and status 0, in
                    max_xmit_frag-sized fragments (~400 KB, ~95 fragments)
  lying-count       actual_count 2 > max_count 1 (num_towers 2; the second
                    tower advertises port+1)
  bad-status        a good tower, but status EPT_S_NOT_REGISTERED
  wrong-call-id     a good answer with a call_id the client never used
  fault             a fault PDU (nca_s_fault_ndr) instead of a response

Exit: 0 on SIGTERM/SIGINT, 1 when a socket cannot be bound, 2 usage.
"""
import argparse
import ipaddress
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from impacket.dcerpc.v5 import epm  # noqa: E402
from impacket.dcerpc.v5 import rpcrt  # noqa: E402
from impacket.uuid import bin_to_string, uuidtup_to_bin  # noqa: E402

import epm_common as C  # noqa: E402

NDR32_BIN = uuidtup_to_bin(C.NDR32)
NDR64_BIN = uuidtup_to_bin(C.NDR64)
EPM_BIN = uuidtup_to_bin(C.EPM_IF)
MAX_FRAG = 4280
NCA_S_FAULT_NDR = 0x000006f7
NCA_S_UNK_IF = 0x1c010003
NCA_S_OP_RNG_ERROR = 0x1c010002
HOSTILE = ('malformed-tower', 'third-host', 'port-135', 'port-445',
           'many-towers', 'many-towers-frag', 'lying-count', 'bad-status',
           'wrong-call-id', 'fault')
THIRD_HOST = '203.0.113.99'
MANY = 100000
ECHO_MAX = 30        # seconds an --echo connection lasts at most

_out_lock = threading.Lock()
_t0 = time.monotonic()


def emit(event, **kw):
    rec = {'event': event, 't': round(time.monotonic() - _t0, 4)}
    rec.update(kw)
    with _out_lock:
        sys.stdout.write(json.dumps(rec) + '\n')
        sys.stdout.flush()


def family(addr):
    return socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET


def listen_socket(addr, port):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if s.family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(64)
    return s


def recv_exact(sock, n):
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def peer_str(addr):
    return '[%s]:%d' % addr[:2] if ':' in addr[0] else '%s:%d' % addr[:2]


# ------------------------------------------------------------------ NDR stubs

def map_response_stub(towers, status, ndr64, max_count=None, num_towers=None):
    """ept_map response with impacket's NDR encoder."""
    r = epm.ept_mapResponse(isNDR64=ndr64)
    r['num_towers'] = len(towers) if num_towers is None else num_towers
    for t in towers:
        e = epm.twr_p_t(isNDR64=ndr64)
        e['tower_length'] = len(t)
        e['tower_octet_string'] = t
        r['ITowers'].append(e)
    r.fields['ITowers'].fields['MaximumCount'] = max_count if max_count is not None else max(1, len(towers))
    r['status'] = status
    return r.getData()


def lookup_response_stub(entries, handle_uuid, status, ndr64, max_ents):
    r = epm.ept_lookupResponse(isNDR64=ndr64)
    r['entry_handle']['context_handle_attributes'] = 0
    r['entry_handle']['context_handle_uuid'] = handle_uuid
    r['num_ents'] = len(entries)
    for tower, annotation in entries:
        e = epm.ept_entry_t(isNDR64=ndr64)
        e['object'] = b'\0' * 16
        e['tower']['tower_length'] = len(tower)
        e['tower']['tower_octet_string'] = tower
        e['annotation'] = list(annotation.encode() + b'\0')
        r['entries'].append(e)
    r.fields['entries'].fields['MaximumCount'] = max(1, max_ents)
    r['status'] = status
    return r.getData()


def pad_to(buf, n):
    return buf + b'\0' * ((-len(buf)) % n)


def raw_map_stub(num_towers, max_count, actual_count, pointers, towers, status,
                 ndr64, truncated=False):
    """ept_map response by hand, for counts NDR cannot express.
    pointers: referent ids (0 = NULL); towers: the referents, in order;
    truncated: stop after the towers (no status)."""
    w, fmt = (8, '<Q') if ndr64 else (4, '<L')
    parts = [pad_to(b'\0' * 20 + struct.pack('<L', num_towers), w),
             struct.pack(fmt, max_count), struct.pack(fmt, 0), struct.pack(fmt, actual_count),
             b''.join(struct.pack(fmt, p) for p in pointers)]
    buf = b''.join(parts)
    for t in towers:
        if ndr64:
            buf = pad_to(buf, 8) + struct.pack('<QL', len(t), len(t)) + t
        else:
            buf = pad_to(buf, 4) + struct.pack('<LL', len(t), len(t)) + t
    if truncated:
        return buf
    return pad_to(buf, 4) + struct.pack('<L', status)


def many_towers_stub(tower, ndr64, limit=65535 - 24):
    """Claims MANY towers; carries as many pointers + towers as fit in limit."""
    k = limit // (len(tower) + 8)
    while True:
        out = raw_map_stub(MANY, MANY, MANY, [0x20000 + 4 * j for j in range(k)],
                           [tower] * k, 0, ndr64, truncated=True)
        if len(out) <= limit:
            return out, k
        k -= 1


# ------------------------------------------------------------------ server

class Server:
    def __init__(self, args, ifaces):
        self.args = args
        self.ifaces = ifaces
        self.addrs = args.addr
        self.hostile = args.hostile
        self.hostile_iface = args.hostile_iface.upper() if args.hostile_iface else None
        self.socks = []
        self.stop = threading.Event()

    # -------------------------------------------------------------- set-up
    def pick_port(self, used):
        rnd = random.SystemRandom()
        for _ in range(500):
            port = rnd.randint(self.args.port_min, self.args.port_max)
            if port in used:
                continue
            socks = []
            try:
                for a in self.addrs:
                    socks.append(listen_socket(a, port))
            except OSError:
                for s in socks:
                    s.close()
                continue
            return port, socks
        raise OSError('no free port in %d-%d' % (self.args.port_min, self.args.port_max))

    def start(self):
        used = {i.port for i in self.ifaces if i.port}
        used.add(self.args.epm_port)
        by_port = {}
        for i in self.ifaces:
            if i.port is None:
                port, socks = self.pick_port(used)
                i.port = port
                used.add(port)
                by_port[port] = socks
            elif i.port not in by_port:
                by_port[i.port] = [listen_socket(a, i.port) for a in self.addrs]
        if self.hostile == 'port-445' and 445 not in by_port:
            by_port[445] = [listen_socket(a, 445) for a in self.addrs]
        for port, socks in by_port.items():
            names = [i.name for i in self.ifaces if i.port == port] or ['SMB-STANDIN']
            for s in socks:
                self.spawn(self.banner_loop, s, ','.join(names))
        for a in self.addrs:
            s = listen_socket(a, self.args.epm_port)
            self.spawn(self.epm_loop, s)
        ready = {
            'pid': os.getpid(),
            'epm': [{'addr': a, 'port': self.args.epm_port} for a in self.addrs],
            'ifaces': [i.as_json() for i in self.ifaces],
            'ports': {i.name: i.port for i in self.ifaces},
            'hostile': self.hostile,
            'hostile_iface': self.hostile_iface,
            'tower_addr': self.args.tower_addr,
        }
        if self.args.ready_file:
            tmp = self.args.ready_file + '.tmp'
            with open(tmp, 'w') as f:
                json.dump(dict(ready, event='ready'), f)
                f.write('\n')
            os.rename(tmp, self.args.ready_file)
        emit('ready', **ready)

    def spawn(self, fn, sock, *a):
        self.socks.append(sock)
        threading.Thread(target=fn, args=(sock,) + a, daemon=True).start()

    # -------------------------------------------------------------- banner
    def banner_loop(self, lsock, names):
        while not self.stop.is_set():
            try:
                c, peer = lsock.accept()
            except OSError:
                return
            threading.Thread(target=self.banner, args=(c, peer, lsock.getsockname()[1], names),
                             daemon=True).start()

    def banner(self, c, peer, port, names):
        try:
            c.settimeout(2)
            c.sendall(('ok %s\n' % names).encode())
            if self.args.echo:
                self.echo(c)
            else:
                c.shutdown(socket.SHUT_WR)
                c.recv(1)           # let the client close first (no TIME_WAIT here)
        except OSError:
            pass
        finally:
            c.close()
        emit('banner', peer=peer_str(peer), port=port, iface=names)

    @staticmethod
    def echo(c):
        """--echo: send back what the client sends until it closes (ECHO_MAX s)."""
        end = time.monotonic() + ECHO_MAX
        while time.monotonic() < end:
            c.settimeout(max(0.01, end - time.monotonic()))
            data = c.recv(4096)
            if not data:
                return
            c.sendall(data)

    # -------------------------------------------------------------- EPM
    def epm_loop(self, lsock):
        while not self.stop.is_set():
            try:
                c, peer = lsock.accept()
            except OSError:
                return
            threading.Thread(target=self.epm_conn, args=(c, peer), daemon=True).start()

    def epm_conn(self, sock, peer):
        st = {'ctx': {}, 'max_xmit': MAX_FRAG, 'lookups': {}, 'frags': b'',
              'peer': peer_str(peer), 'local': sock.getsockname()[0]}
        emit('conn', peer=st['peer'], local=st['local'])
        sock.settimeout(self.args.idle_timeout)
        try:
            while True:
                hdr = recv_exact(sock, 16)
                frag_len = struct.unpack_from('<H', hdr, 8)[0]
                if hdr[0] != 5 or frag_len < 16:
                    emit('error', peer=st['peer'], what='not a DCE/RPC v5 PDU')
                    return
                pdu = hdr + recv_exact(sock, frag_len - 16)
                if not self.handle_pdu(sock, st, pdu):
                    return
        except (EOFError, ConnectionError, socket.timeout):
            return
        except Exception as exc:  # noqa: BLE001 - keep serving other clients
            emit('error', peer=st['peer'], what=repr(exc))
        finally:
            sock.close()

    def handle_pdu(self, sock, st, pdu):
        ptype, flags = pdu[2], pdu[3]
        if pdu[4] & 0xf0 != 0x10:
            emit('error', peer=st['peer'], what='big-endian data representation not served')
            return False
        if ptype in (rpcrt.MSRPC_BIND, rpcrt.MSRPC_ALTERCTX):
            self.on_bind(sock, st, pdu)
            return True
        if ptype == rpcrt.MSRPC_REQUEST:
            req = rpcrt.MSRPCRequestHeader(pdu)
            if flags & rpcrt.PFC_FIRST_FRAG:
                st['frags'] = b''
            st['frags'] += req['pduData']
            if flags & rpcrt.PFC_LAST_FRAG:
                stub, st['frags'] = st['frags'], b''
                self.on_request(sock, st, req, stub)
            return True
        if ptype == rpcrt.MSRPC_AUTH3:
            return True
        return False                           # shutdown, orphaned, anything else

    def on_bind(self, sock, st, pdu):
        hdr = rpcrt.MSRPCHeader(pdu)
        body = hdr['pduData']
        max_tfrag, max_rfrag, assoc = struct.unpack_from('<HHL', body, 0)
        n = body[8]
        off, items = 12, []
        for _ in range(n):
            ctx_id, ntrans = struct.unpack_from('<HB', body, off)
            abstract = body[off + 4:off + 24]
            trans = [body[off + 24 + 20 * k:off + 44 + 20 * k] for k in range(ntrans)]
            off += 24 + 20 * ntrans
            items.append((ctx_id, abstract, trans))
        ndr32_offered = any(a == EPM_BIN and NDR32_BIN in t for _, a, t in items)
        results, accepted = [], []
        for ctx_id, abstract, trans in items:
            if any(t[:8] == C.BTFN_PREFIX for t in trans):
                results.append((3, 0, b'\0' * 20))      # negotiate_ack, no features
            elif abstract != EPM_BIN:
                results.append((2, 1, b'\0' * 20))      # abstract syntax not supported
            elif NDR32_BIN in trans:
                st['ctx'][ctx_id] = False
                results.append((0, 0, NDR32_BIN))
                accepted.append((ctx_id, 'ndr'))
            elif NDR64_BIN in trans and not ndr32_offered:
                st['ctx'][ctx_id] = True
                results.append((0, 0, NDR64_BIN))
                accepted.append((ctx_id, 'ndr64'))
            else:
                results.append((2, 2, b'\0' * 20))      # transfer syntaxes not supported
        if pdu[2] == rpcrt.MSRPC_BIND:
            st['max_xmit'] = max(1024, min(MAX_FRAG, max_rfrag))
            secaddr = str(sock.getsockname()[1]).encode() + b'\0'
            rtype = rpcrt.MSRPC_BINDACK
        else:
            secaddr = b''
            rtype = rpcrt.MSRPC_ALTERCTX_R
        ack = struct.pack('<HHL', st['max_xmit'], st['max_xmit'], assoc or 0x12345)
        ack += struct.pack('<H', len(secaddr)) + secaddr
        ack = ack + b'\0' * ((-(16 + len(ack))) % 4)
        ack += struct.pack('<BBH', len(results), 0, 0)
        for res, reason, ts in results:
            item = rpcrt.CtxItemResult()
            item['Result'], item['Reason'], item['TransferSyntax'] = res, reason, ts
            ack += item.getData()
        out = rpcrt.MSRPCHeader()
        out['type'] = rtype
        out['flags'] = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG
        out['call_id'] = hdr['call_id']
        out['pduData'] = ack
        sock.sendall(out.get_packet())
        emit('bind', peer=st['peer'], accepted=accepted, contexts=len(items),
             max_xmit=st['max_xmit'])

    def send_response(self, sock, st, req, stub, call_id=None, one_fragment=False):
        call_id = req['call_id'] if call_id is None else call_id
        chunk = len(stub) if one_fragment else ((st['max_xmit'] - 24) // 8) * 8
        off, frags = 0, 0
        while True:
            part = stub[off:off + chunk]
            flags = rpcrt.PFC_FIRST_FRAG if off == 0 else 0
            if off + len(part) >= len(stub):
                flags |= rpcrt.PFC_LAST_FRAG
            r = rpcrt.MSRPCRespHeader()
            r['type'] = rpcrt.MSRPC_RESPONSE
            r['flags'] = flags
            r['call_id'] = call_id
            r['ctx_id'] = req['ctx_id']
            r['alloc_hint'] = len(stub) - off
            r['pduData'] = part
            sock.sendall(r.get_packet())
            frags += 1
            off += len(part)
            if off >= len(stub):
                return frags

    def send_fault(self, sock, req, status):
        r = rpcrt.MSRPCRespHeader()
        r['type'] = rpcrt.MSRPC_FAULT
        r['flags'] = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG | rpcrt.PFC_DID_NOT_EXECUTE
        r['call_id'] = req['call_id']
        r['ctx_id'] = req['ctx_id']
        r['pduData'] = struct.pack('<LL', status, 0)
        sock.sendall(r.get_packet())

    def on_request(self, sock, st, req, stub):
        ndr64 = st['ctx'].get(req['ctx_id'])
        if ndr64 is None:
            self.send_fault(sock, req, NCA_S_UNK_IF)
            emit('fault', peer=st['peer'], status='0x%08x' % NCA_S_UNK_IF, why='unknown context')
            return
        try:
            if req['op_num'] == 3:
                self.on_map(sock, st, req, stub, ndr64)
            elif req['op_num'] == 2:
                self.on_lookup(sock, st, req, stub, ndr64)
            else:
                self.send_fault(sock, req, NCA_S_OP_RNG_ERROR)
                emit('fault', peer=st['peer'], status='0x%08x' % NCA_S_OP_RNG_ERROR,
                     why='opnum %d' % req['op_num'])
        except (struct.error, ValueError, IndexError, KeyError, TypeError) as exc:
            self.send_fault(sock, req, NCA_S_FAULT_NDR)
            emit('fault', peer=st['peer'], status='0x%08x' % NCA_S_FAULT_NDR, why=repr(exc))

    def tower_addr(self, st):
        ta = self.args.tower_addr
        if ta == 'auto':
            return st['local'] if ':' not in st['local'] else '0.0.0.0'
        if ta == 'zero':
            return '0.0.0.0'
        return ta

    def find(self, uuid, major, minor):
        for i in self.ifaces:
            if i.uuid == uuid and i.major == major and i.minor >= minor:
                return i
        return None

    def on_map(self, sock, st, req, stub, ndr64):
        r = epm.ept_map(stub, isNDR64=ndr64)
        max_towers = r['max_towers']
        want = C.parse_tower(b''.join(r['map_tower']['tower_octet_string']))
        major, minor = (int(x) for x in want.get('version', '0.0').split('.'))
        i = self.find(want.get('uuid', ''), major, minor) if want.get('proto') == 'tcp' else None
        ev = {'peer': st['peer'], 'iface': want.get('iface'), 'uuid': want.get('uuid'),
              'version': want.get('version'), 'proto': want.get('proto'),
              'max_towers': max_towers, 'ndr64': ndr64, 'call_id': req['call_id']}
        if i is None or max_towers < 1:
            out = map_response_stub([], C.EPT_S_NOT_REGISTERED, ndr64)
            self.send_response(sock, st, req, out)
            emit('map', status='0x%08x' % C.EPT_S_NOT_REGISTERED, port=None, **ev)
            return
        addr = self.tower_addr(st)
        kind = self.hostile if (self.hostile and (self.hostile_iface in (None, i.name))) else None
        port, status, call_id, frags_one = i.port, 0, None, False
        if kind == 'third-host':
            addr = THIRD_HOST
        elif kind == 'port-135':
            port = 135
        elif kind == 'port-445':
            port = 445
        tower = C.build_tower(i, port, addr)
        if kind == 'malformed-tower':
            floors = C.build_floors(i, port, addr)
            f4 = bytearray(floors[3])
            f4[0:2] = struct.pack('<H', 0x00ff)
            floors[3] = bytes(f4)
            tower = C.build_tower(i, port, addr, floors=floors)
        if kind == 'fault':
            self.send_fault(sock, req, NCA_S_FAULT_NDR)
            emit('map', status='fault', port=None, hostile=kind, **ev)
            return
        if kind == 'many-towers':
            out, _k = many_towers_stub(tower, ndr64)
            frags_one = True
        elif kind == 'many-towers-frag':
            out = raw_map_stub(MANY, MANY, MANY, [3] + [0] * (MANY - 1), [tower], 0, ndr64)
        elif kind == 'lying-count':
            other = C.build_tower(i, port + 1 if port < 65535 else port - 1, addr)
            out = map_response_stub([tower, other], 0, ndr64, max_count=1, num_towers=2)
        else:
            if kind == 'bad-status':
                status = C.EPT_S_NOT_REGISTERED
            if kind == 'wrong-call-id':
                call_id = (req['call_id'] + 1000) & 0xffffffff
            out = map_response_stub([tower], status, ndr64, max_count=max_towers)
        frags = self.send_response(sock, st, req, out, call_id=call_id, one_fragment=frags_one)
        emit('map', status='0x%08x' % status, port=port, tower_addr=addr, hostile=kind,
             stub_len=len(out), fragments=frags, **ev)

    def on_lookup(self, sock, st, req, stub, ndr64):
        r = epm.ept_lookup(stub, isNDR64=ndr64)
        max_ents = max(0, r['max_ents'])
        handle = r['entry_handle']['context_handle_uuid']
        sel = list(self.ifaces)
        if r['inquiry_type'] in (epm.RPC_C_EP_MATCH_BY_IF, 3):
            try:
                u = bin_to_string(r['Ifid']['Uuid']).lower()
                sel = [i for i in sel if i.uuid == u]
            except (KeyError, TypeError, AttributeError):
                pass
        if handle == b'\0' * 16:
            pos = 0
        elif handle in st['lookups']:
            pos = st['lookups'].pop(handle)
        else:
            pos = len(sel)
        batch = sel[pos:pos + max_ents]
        pos += len(batch)
        if not batch:
            status, nh = C.EPT_S_NOT_REGISTERED, b'\0' * 16
        elif pos < len(sel):
            status, nh = 0, os.urandom(16)
            st['lookups'][nh] = pos
        else:
            status, nh = 0, b'\0' * 16
        entries = [(C.build_tower(i, i.port, self.tower_addr(st)), 'rpcgate lab %s' % i.name)
                   for i in batch]
        out = lookup_response_stub(entries, nh, status, ndr64, max_ents)
        frags = self.send_response(sock, st, req, out)
        emit('lookup', peer=st['peer'], entries=len(batch), status='0x%08x' % status,
             more=nh != b'\0' * 16, ndr64=ndr64, fragments=frags)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Hostile kinds: ' + ', '.join(HOSTILE) + '. See the file header.')
    ap.add_argument('--addr', action='append', required=True,
                    help='address to listen on (IPv4 or IPv6; repeat for several)')
    ap.add_argument('--iface', action='append', default=[],
                    help='NAME|UUID[:MAJ.MIN][=PORT|=auto] (repeat). Default: EMSMDB, '
                         'NSPI and SAMR, each on its own free port in --port-min..--port-max')
    ap.add_argument('--epm-port', type=int, default=135)
    ap.add_argument('--port-min', type=int, default=49152)
    ap.add_argument('--port-max', type=int, default=65535)
    ap.add_argument('--tower-addr', default='auto',
                    help="floor 5: auto (the IPv4 address the client reached, 0.0.0.0 "
                         "over IPv6), zero (0.0.0.0), or an IPv4 address")
    ap.add_argument('--hostile', choices=HOSTILE)
    ap.add_argument('--hostile-iface', help='apply --hostile to this interface only')
    ap.add_argument('--echo', action='store_true',
                    help='after the banner, echo what the client sends (%d s at most)' % ECHO_MAX)
    ap.add_argument('--ready-file', help='write the ready JSON here (atomically)')
    ap.add_argument('--idle-timeout', type=float, default=30,
                    help='close an idle EPM connection after this many seconds')
    args = ap.parse_args()
    try:
        ifaces = [C.parse_iface(s) for s in (args.iface or ['EMSMDB', 'NSPI', 'SAMR'])]
        for a in args.addr:
            ipaddress.ip_address(a)
        if args.tower_addr not in ('auto', 'zero'):
            socket.inet_aton(args.tower_addr)
    except (ValueError, OSError) as exc:
        ap.error(str(exc))
    srv = Server(args, ifaces)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        srv.start()
    except OSError as exc:
        emit('error', what='cannot listen: %s' % exc)
        return 1
    while not done.wait(1):
        pass
    srv.stop.set()
    for s in srv.socks:
        try:
            s.close()
        except OSError:
            pass
    emit('exit')
    return 0


if __name__ == '__main__':
    sys.exit(main())
