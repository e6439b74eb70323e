#!/usr/bin/python3
"""Endpoint-mapper client for the namespace lab (Debian's /usr/bin/python3).

Maps an interface on SERVER with impacket's epm.hept_map over
DCERPCTransportFactory('ncacn_ip_tcp:SERVER[135]'), then connects to the port
it got with a plain TCP socket and reads the "ok NAME" banner of
epm_server.py's trivial service. One JSON object per line on stdout:

  {"event":"map","server":..,"iface":"EMSMDB","uuid":..,"version":"0.81",
   "ok":true,"port":49160,"tower_addr":"198.51.100.20","towers":[..],
   "num_towers":1,"status":"0x00000000","ms":4.1}
  {"event":"connect","server":..,"port":49160,"connected":true,
   "connected_first_try":true,"syn_retransmits":0,"ms":0.3,
   "banner":"ok EMSMDB","error":null}
  {"event":"lookup_entry",...} / {"event":"lookup","entries":3,...}
  {"event":"echo","n":1,"t":1700000000.123,"line":"hold 0"}   (--hold)
  {"event":"hold","sent":25,"echoes":25,"last_echo":..,"error":null}
  {"event":"done","rc":0,...}

--hold SECONDS keeps the connection open after the banner (epm_server.py
--echo): a line every 0.2 s for SECONDS, one "echo" line per line echoed
back, "t" in wall-clock seconds (time.time()), so a test can see when a
connection stopped carrying data. It does not change the exit status.

"connected_first_try" means the first SYN was answered: connect() returned
within --first-try-ms (default 900 ms; the kernel retransmits a SYN after
1 s) and TCP_INFO counted no retransmission. connect() gives up after
--connect-timeout (default 1.5 s: one retransmission at most).

  epm_client.py 198.51.100.20                  # map EMSMDB, connect
  epm_client.py 2001:db8:2::20 --iface NSPI
  epm_client.py 198.51.100.20 --connect-only 49160   # no lookup at all
  epm_client.py 198.51.100.20 --repeat 5 --interval 0.2
  epm_client.py 198.51.100.20 --lookup         # ept_lookup dump
  epm_client.py 198.51.100.20 --connect-only 49160 --hold 5   # echo for 5 s

Exit status (the first failure decides, in the order the steps ran):
  0  every map answered a port, every connection got through on the first
     SYN and read the expected banner
  1  a connection failed (timeout, refused, unreachable)
  2  usage
  3  connected, but not on the first SYN
  4  connected, but no banner or the wrong one (--no-banner to skip)
  5  the endpoint mapper answered, with no port: not registered or another
     non-zero status, or no TCP tower
  6  the endpoint mapper could not be used: connect/bind failed, a fault, an
     answer impacket could not decode, a timeout
"""
import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from impacket.dcerpc.v5 import epm, transport  # noqa: E402
from impacket.dcerpc.v5.rpcrt import DCERPCException  # noqa: E402
from impacket.uuid import bin_to_string  # noqa: E402

import epm_common as C  # noqa: E402

RC_OK, RC_CONNECT, RC_USAGE, RC_SLOW, RC_BANNER, RC_NOPORT, RC_EPM = 0, 1, 2, 3, 4, 5, 6
MAX_LISTED = 16                  # towers printed per map answer
TCP_INFO_TOTAL_RETRANS = 100     # offset of tcpi_total_retrans in struct tcp_info
HOLD_INTERVAL = 0.2              # seconds between --hold lines


def emit(event, **kw):
    rec = {'event': event}
    rec.update(kw)
    sys.stdout.write(json.dumps(rec) + '\n')
    sys.stdout.flush()


def ms_since(t):
    return round((time.monotonic() - t) * 1000, 2)


def epm_dce(server, args):
    binding = 'ncacn_ip_tcp:%s[%d]' % (server, args.epm_port)
    rpct = transport.DCERPCTransportFactory(binding)
    rpct.set_connect_timeout(args.epm_timeout)
    dce = rpct.get_dce_rpc()
    dce.connect()
    if args.ndr64:
        # hept_map() binds NDR32 itself: make that bind offer NDR64 alone
        real_bind = dce.bind
        dce.bind = lambda iface, **kw: real_bind(iface, transfer_syntax=C.NDR64)
    return dce


def status_of(exc):
    code = getattr(exc, 'error_code', None)
    return '0x%08x' % code if isinstance(code, int) else None


def do_map(server, iface, args):
    """One ept_map with impacket's hept_map; returns (rc, port, tower_addr)."""
    ev = {'server': server, 'iface': iface.name, 'uuid': iface.uuid,
          'version': iface.version, 'ndr64': args.ndr64}
    t = time.monotonic()
    captured = []
    dce = None
    try:
        dce = epm_dce(server, args)
        real_request = dce.request

        def request(req, *a, **kw):
            resp = real_request(req, *a, **kw)
            captured.append(resp)
            return resp
        dce.request = request
        binding = epm.hept_map(server, iface.bin(), protocol='ncacn_ip_tcp', dce=dce)
    except DCERPCException as exc:
        st = status_of(exc)
        if st and int(st, 16) == C.EPT_S_NOT_REGISTERED:
            emit('map', ok=False, port=None, status=st, error=str(exc).strip(), ms=ms_since(t), **ev)
            return RC_NOPORT, None, None
        emit('map', ok=False, port=None, status=st, error=str(exc).strip(), ms=ms_since(t), **ev)
        return RC_EPM, None, None
    except Exception as exc:  # noqa: BLE001 - socket errors, decode errors
        emit('map', ok=False, port=None, status=None, error='%s: %s' % (type(exc).__name__, exc),
             ms=ms_since(t), **ev)
        return RC_EPM, None, None
    finally:
        if dce is not None:
            try:
                dce.disconnect()
            except Exception:  # noqa: BLE001
                pass
    ms = ms_since(t)
    towers, num, status, nulls = [], None, None, 0
    if captured:
        resp = captured[-1]
        num = resp['num_towers']
        status = '0x%08x' % resp['status']
        for tw in resp['ITowers']:
            if tw.fields.get('ReferentID') == 0:
                nulls += 1
                continue
            try:
                towers.append(C.parse_tower(b''.join(tw['Data']['tower_octet_string'])))
            except (ValueError, KeyError, TypeError) as exc:
                towers.append({'error': str(exc)})
    tcp = [x for x in towers if x.get('proto') == 'tcp']
    port = tcp[0].get('port') if tcp else None
    emit('map', ok=port is not None, port=port, binding=binding,
         tower_addr=tcp[0].get('addr') if tcp else None, towers=towers[:MAX_LISTED],
         towers_listed=min(len(towers), MAX_LISTED), towers_decoded=len(towers),
         null_towers=nulls, num_towers=num, status=status, ms=ms, **ev)
    tower_addr = tcp[0].get('addr') if tcp else None
    return (RC_OK if port is not None else RC_NOPORT), port, tower_addr


def tcp_retrans(sock):
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return struct.unpack_from('<I', info, TCP_INFO_TOTAL_RETRANS)[0]
    except (OSError, struct.error):
        return None


def do_connect(host, port, expect, args):
    """Plain TCP connect + banner. Returns rc."""
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(args.connect_timeout)
    t = time.monotonic()
    ev = {'server': host, 'port': port}
    try:
        s.connect((host, port))
    except socket.timeout:
        s.close()
        emit('connect', connected=False, connected_first_try=False, error='timeout',
             ms=ms_since(t), banner=None, **ev)
        return RC_CONNECT
    except OSError as exc:
        s.close()
        err = {111: 'refused', 113: 'unreachable', 101: 'unreachable'}.get(exc.errno, str(exc))
        emit('connect', connected=False, connected_first_try=False, error=err,
             ms=ms_since(t), banner=None, **ev)
        return RC_CONNECT
    ms = ms_since(t)
    retrans = tcp_retrans(s)
    first = ms < args.first_try_ms and not retrans
    banner = None
    if not args.no_banner:
        s.settimeout(args.banner_timeout)
        data = b''
        try:
            while not data.endswith(b'\n') and len(data) < 256:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        banner = data.decode('latin-1').strip() or None
    ok_banner = args.no_banner or (banner is not None and banner.startswith('ok ') and
                                   (expect is None or expect in banner[3:].split(',')))
    emit('connect', connected=True, connected_first_try=first, syn_retransmits=retrans,
         ms=ms, banner=banner, banner_ok=ok_banner, error=None, **ev)
    if args.hold:
        hold(s, args.hold, args.hold_interval, args.hold_drain)
    s.close()
    if not first:
        return RC_SLOW
    return RC_OK if ok_banner else RC_BANNER


def hold(s, seconds, interval, drain=0):
    """--hold: a line every interval s for SECONDS, one JSON line per echo;
    then up to drain s more for the echoes still on their way."""
    s.setblocking(False)
    end = time.monotonic() + seconds
    next_send, sent, echoes, last, err, buf = time.monotonic(), 0, 0, None, None, b''
    while err is None and (time.monotonic() < end or
                           (echoes < sent and time.monotonic() < end + drain)):
        if time.monotonic() >= end:
            next_send = end + drain     # sending is over; only listen
        elif time.monotonic() >= next_send:
            try:
                s.send(b'hold %d\n' % sent)
                sent += 1
            except OSError as exc:      # a full send buffer too: the peer is gone
                err = str(exc)
            next_send += interval
        ready, _, _ = select.select([s], [], [], max(0, min(next_send, end + drain) - time.monotonic()))
        if not ready:
            continue
        try:
            data = s.recv(4096)
        except OSError as exc:
            err = str(exc)
            continue
        if not data:
            err = 'closed'
        buf += data
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            echoes, last = echoes + 1, round(time.time(), 3)
            emit('echo', n=echoes, t=last, line=line.decode('latin-1'))
    emit('hold', sent=sent, echoes=echoes, last_echo=last, error=err, seconds=seconds)


def do_lookup(server, args):
    """ept_lookup (opnum 2), all entries. Uses checkError=False: Samba sends
    its last batch together with status 0x16c9a0d6, which hept_lookup()
    would turn into an exception."""
    t = time.monotonic()
    n, status, tcp = 0, None, 0
    try:
        dce = epm_dce(server, args)
        dce.bind(epm.MSRPC_UUID_PORTMAP)
        handle = epm.ept_lookup_handle_t()
        for _ in range(100):
            req = epm.ept_lookup()
            req['inquiry_type'] = epm.RPC_C_EP_ALL_ELTS
            req['object'] = epm.NULL
            req['Ifid'] = epm.NULL
            req['vers_option'] = epm.RPC_C_VERS_ALL
            req['entry_handle'] = handle
            req['max_ents'] = args.max_ents
            resp = dce.request(req, checkError=False)
            for k in range(resp['num_ents']):
                e = resp['entries'][k]
                ann = b''.join(e['annotation']).rstrip(b'\0').decode('latin-1')
                try:
                    tw = C.parse_tower(b''.join(e['tower']['tower_octet_string']))
                except ValueError as exc:
                    tw = {'error': str(exc)}
                tcp += tw.get('proto') == 'tcp'
                emit('lookup_entry', server=server, annotation=ann,
                     object=bin_to_string(e['object']).lower(), **tw)
                n += 1
            status, handle = resp['status'], resp['entry_handle']
            if status != 0 or handle.isNull():
                break
        dce.disconnect()
    except Exception as exc:  # noqa: BLE001
        emit('lookup', server=server, ok=False, entries=n, tcp_entries=tcp,
             error='%s: %s' % (type(exc).__name__, exc), ms=ms_since(t))
        return RC_EPM
    emit('lookup', server=server, ok=n > 0, entries=n, tcp_entries=tcp,
         status='0x%08x' % status if status is not None else None, ms=ms_since(t))
    return RC_OK if n > 0 else RC_NOPORT


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index('Exit status'):])
    ap.add_argument('server', help='endpoint mapper address (IPv4 or IPv6)')
    ap.add_argument('--iface', default='EMSMDB',
                    help='NAME or UUID[:MAJ.MIN] to map (default EMSMDB)')
    ap.add_argument('--connect-only', type=int, metavar='PORT',
                    help='no lookup: just connect to PORT (the client that did no lookup)')
    ap.add_argument('--no-connect', action='store_true', help='map only')
    ap.add_argument('--lookup', action='store_true', help='ept_lookup dump, nothing else')
    ap.add_argument('--repeat', type=int, default=1, help='do it N times, one after another')
    ap.add_argument('--interval', type=float, default=0, help='seconds between repeats')
    ap.add_argument('--connect-delay', type=float, default=0,
                    help='seconds between the map answer and the connect')
    ap.add_argument('--connect-to', metavar='ADDR',
                    help='connect to ADDR instead of SERVER; "tower" = the tower\'s address')
    ap.add_argument('--ndr64', action='store_true', help='bind the EPM with NDR64 only')
    ap.add_argument('--epm-port', type=int, default=135)
    ap.add_argument('--epm-timeout', type=float, default=5,
                    help='connect and read timeout towards the endpoint mapper (s)')
    ap.add_argument('--connect-timeout', type=float, default=1.5)
    ap.add_argument('--first-try-ms', type=float, default=900)
    ap.add_argument('--banner-timeout', type=float, default=2)
    ap.add_argument('--no-banner', action='store_true', help='do not read/check the banner')
    ap.add_argument('--hold', type=float, metavar='SECONDS', default=0,
                    help='after the banner, send a line every %.1f s for SECONDS and report '
                         'each echo (epm_server.py --echo)' % HOLD_INTERVAL)
    ap.add_argument('--hold-drain', type=float, metavar='SECONDS', default=0,
                    help='after --hold, wait up to SECONDS for the echoes still due')
    ap.add_argument('--hold-interval', type=float, metavar='SECONDS', default=HOLD_INTERVAL,
                    help='seconds between --hold lines (default %.1f)' % HOLD_INTERVAL)
    ap.add_argument('--max-ents', type=int, default=500, help='ept_lookup max_ents')
    args = ap.parse_args()
    try:
        iface = C.parse_iface(args.iface)
    except ValueError as exc:
        ap.error(str(exc))
    if args.repeat < 1:
        ap.error('--repeat must be at least 1')

    rc = RC_OK
    t0 = time.monotonic()
    oks = 0
    for n in range(args.repeat):
        if n and args.interval:
            time.sleep(args.interval)
        if args.lookup:
            r = do_lookup(args.server, args)
        else:
            port, tower_addr, r = args.connect_only, None, RC_OK
            if port is None:
                r, port, tower_addr = do_map(args.server, iface, args)
            if r == RC_OK and not args.no_connect:
                if args.connect_delay:
                    time.sleep(args.connect_delay)
                host = args.connect_to or args.server
                if host == 'tower':
                    host = tower_addr or args.server
                r = do_connect(host, port, None if args.connect_only else iface.name, args)
        oks += r == RC_OK
        if rc == RC_OK:
            rc = r
    emit('done', rc=rc, runs=args.repeat, ok_runs=oks, ms=ms_since(t0))
    return rc


if __name__ == '__main__':
    sys.exit(main())
