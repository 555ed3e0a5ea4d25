#!/usr/bin/env python3
"""A client written from docs/wire.md alone (python3 standard library only).

Usage: wire_client.py <address> <handshake: 0|1>
  address: unix:///path, unix-abstract:name or tcp://host:port
Connects, reads the status frame when there is a handshake, sends a fixed list of messages (one of them
in pieces, with its length header split), reads each echo, and prints a JSON report on stdout.
"""
import json
import socket
import struct
import sys
from urllib.parse import unquote


def connect(address):
    if address.startswith("unix://"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(unquote(address[len("unix://"):]))
    elif address.startswith("unix-abstract:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("\0" + unquote(address[len("unix-abstract:"):]))
    elif address.startswith("tcp://"):
        hostport = address[len("tcp://"):]
        host, port = hostport.rsplit(":", 1)
        host = host.strip("[]")
        s = socket.create_connection((host, int(port)))
    else:
        raise SystemExit("unsupported address " + address)
    return s


def read_exactly(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("stream ended after %d of %d bytes" % (len(data), n))
        data += chunk
    return bytes(data)


def read_frame(s):
    (length,) = struct.unpack(">I", read_exactly(s, 4))
    return read_exactly(s, length)


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


MESSAGES = [
    b"",
    b"a",
    "héllo wörld".encode("utf-8"),
    bytes((i * 7 + 3) % 256 for i in range(1000)),
    bytes((i * 13 + 1) % 256 for i in range(70000)),
]


def main():
    address, handshake = sys.argv[1], sys.argv[2] == "1"
    s = connect(address)
    status = None
    if handshake:
        status = read_frame(s)
        if status[:1] != b"\x06":
            print(json.dumps({"ok": False, "status": status.hex()}))
            return
    # All but the last in one write (glued frames), the last split inside its header.
    s.sendall(b"".join(frame(m) for m in MESSAGES[:-1]))
    last = frame(MESSAGES[-1])
    s.sendall(last[:2])
    s.sendall(last[2:9])
    s.sendall(last[9:])
    echoes = [read_frame(s) for _ in MESSAGES]
    s.shutdown(socket.SHUT_WR)
    end = s.recv(1)
    s.close()
    print(json.dumps({
        "ok": echoes == MESSAGES,
        "status": None if status is None else status.hex(),
        "sizes": [len(e) for e in echoes],
        "clean_end": end == b"",
    }))


main()
