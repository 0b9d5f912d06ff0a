#!/usr/bin/env python3
"""path-fetch.py -- download one URL through a tor client over a circuit whose
every hop is given, through tor's control port (control-spec: EXTENDCIRCUIT,
__LeaveStreamsUnattached, ATTACHSTREAM).  Used by the allium-relay scenarios
for paths EntryNodes/MiddleNodes cannot express (allium -> tor -> allium ->
exit).  Not a scenario itself.

  path-fetch.py --control PORT --cookie FILE --socks PORT --path FP,FP,...
                --url http://127.0.0.1:PORT/FILE --out FILE [--timeout S]

Prints "N bytes in T s via PATH" and exits 0, or prints why and exits 1.
Every wait is bounded by --timeout (default 120 s).  Leaves the client as it
found it (__LeaveStreamsUnattached 0, the circuit closed).  Loopback only.
"""

import argparse
import re
import socket
import sys
import threading
import time


class Control:
    def __init__(self, port, cookie, timeout):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.events = []
        with open(cookie, "rb") as f:
            self.cmd("AUTHENTICATE " + f.read().hex())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise OSError("control connection closed")
            self.buf += chunk
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")

    def reply(self):
        """One reply; asynchronous 650 events met on the way are queued."""
        lines = []
        while True:
            l = self.line()
            if l.startswith("650"):
                self.events.append(l[4:])
                continue
            lines.append(l)
            if l[3:4] == " ":
                return lines

    def cmd(self, command):
        self.s.sendall(command.encode() + b"\r\n")
        lines = self.reply()
        if not lines[-1].startswith("250"):
            raise OSError("%s: %s" % (command.split()[0], " / ".join(lines)))
        return lines

    def event(self):
        """The next asynchronous event, or "" after a second without one."""
        if self.events:
            return self.events.pop(0)
        self.s.settimeout(1.0)
        try:
            l = self.line()
        except socket.timeout:
            return ""
        finally:
            self.s.settimeout(self.timeout)
        return l[4:] if l.startswith("650") else ""


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("connection closed")
        b += c
    return b


def socks_get(sock, host, port, path, out, result):
    """GET over an already connected SOCKS5 socket; result gets the body
    length or an exception."""
    try:
        sock.sendall(b"\x05\x01\x00")
        if recv_exact(sock, 2) != b"\x05\x00":
            raise OSError("SOCKS5 method refused")
        h = host.encode()
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(h)]) + h + port.to_bytes(2, "big"))
        rep = recv_exact(sock, 4)
        if rep[1] != 0:
            raise OSError("SOCKS5 connect failed (reply %d)" % rep[1])
        recv_exact(sock, {1: 4, 4: 16}.get(rep[3], 0) or recv_exact(sock, 1)[0])
        recv_exact(sock, 2)
        sock.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            c = sock.recv(65536)
            if not c:
                raise OSError("truncated HTTP headers")
            buf += c
        head, body = buf.split(b"\r\n\r\n", 1)
        if not re.match(rb"HTTP/1\.[01] 200", head):
            raise OSError("HTTP error: %r" % head[:40])
        n = len(body)
        with open(out, "wb") as f:
            f.write(body)
            while True:
                c = sock.recv(262144)
                if not c:
                    break
                f.write(c)
                n += len(c)
        result.append(n)
    except (OSError, socket.timeout) as e:
        result.append(e)
    finally:
        sock.close()


def build(ctl, path, deadline):
    """EXTENDCIRCUIT along path; wait until BUILT.  Returns the circuit id."""
    lines = ctl.cmd("EXTENDCIRCUIT 0 %s" % ",".join(path))
    m = re.match(r"250 EXTENDED (\d+)", lines[-1])
    if not m:
        raise OSError("EXTENDCIRCUIT: %s" % lines[-1])
    cid = m.group(1)
    while time.time() < deadline:
        ev = ctl.event()
        parts = ev.split()
        if len(parts) >= 2 and parts[0] == "CIRC" and parts[1] == cid:
            if parts[2] == "BUILT":
                return cid
            if parts[2] in ("FAILED", "CLOSED"):
                raise OSError("circuit %s %s: %s" % (cid, parts[2], ev))
    raise OSError("circuit %s not built in time" % cid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--control", type=int, required=True)
    ap.add_argument("--cookie", required=True)
    ap.add_argument("--socks", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    m = re.match(r"http://(127\.\d+\.\d+\.\d+):(\d+)(/.*)$", a.url)
    if not m:
        print("path-fetch: --url must be http://127.x.x.x:PORT/PATH", file=sys.stderr)
        return 2
    host, port, upath = m.group(1), int(m.group(2)), m.group(3)
    path = [p if p.startswith("$") else "$" + p for p in a.path.split(",")]
    deadline = time.time() + a.timeout
    ctl = Control(a.control, a.cookie, a.timeout)
    cid = None
    t0 = time.time()
    try:
        ctl.cmd("SETEVENTS CIRC STREAM")
        ctl.cmd("SETCONF __LeaveStreamsUnattached=1")
        cid = build(ctl, path, deadline)
        sock = socket.create_connection(("127.0.0.1", a.socks), timeout=a.timeout)
        local = "127.0.0.1:%d" % sock.getsockname()[1]
        result = []
        th = threading.Thread(target=socks_get, args=(sock, host, port, upath, a.out, result))
        th.start()
        attached = False
        while th.is_alive() and time.time() < deadline:
            ev = ctl.event() if not attached else ""
            parts = ev.split()
            if (len(parts) >= 4 and parts[0] == "STREAM" and parts[2] == "NEW"
                    and "SOURCE_ADDR=" + local in ev):
                ctl.cmd("ATTACHSTREAM %s %s" % (parts[1], cid))
                attached = True
            if attached:
                th.join(max(0.1, min(1.0, deadline - time.time())))
        th.join(max(0.0, deadline - time.time()))
        if th.is_alive() or not result:
            sock.close()
            raise OSError("download did not finish within %.0f s" % a.timeout)
        if isinstance(result[0], Exception):
            raise result[0]
        print("%d bytes in %.1f s via %s" % (result[0], time.time() - t0, ",".join(path)))
        return 0
    except (OSError, socket.timeout) as e:
        print("path-fetch: %s (path %s)" % (e, ",".join(path)), file=sys.stderr)
        return 1
    finally:
        try:
            ctl.cmd("SETCONF __LeaveStreamsUnattached=0")
            ctl.cmd("SETEVENTS")
            if cid:
                ctl.cmd("CLOSECIRCUIT %s" % cid)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
