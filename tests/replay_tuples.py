#!/usr/bin/python3
"""Reduce `rpcgated -r` JSON lines to the sorted, unique tuples the golden
files hold: client, server, iface, proto, port (tab-separated)."""
import json
import sys

tuples = set()
for number, line in enumerate(sys.stdin, 1):
    try:
        e = json.loads(line)
        tuples.add((e["client"], e["server"], e["iface"], e["proto"], str(e["port"])))
    except (ValueError, KeyError) as err:
        sys.exit(f"line {number}: not an endpoint object: {err}: {line!r}")
for t in sorted(tuples):
    print("\t".join(t))
