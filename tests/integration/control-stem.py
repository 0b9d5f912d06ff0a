#!/usr/bin/python3
# tests/integration/control-stem.py -- drives a control port with stem
# (Debian python3-stem, unmodified) for the allium-control scenario
# (control-spec 3, 4.1; issue 12, done-when 1).  Run with Debian's python3:
# stem is installed for it, not for other interpreters.
#
#   control-stem.py client PORT SOCKS URL SHA256 EXIT_FP
#       cookie, SAFECOOKIE; version, bootstrap phase; GETCONF / SETCONF /
#       RESETCONF round trips and refusals; CIRC / STREAM / BW / log events
#       during downloads; circuit-status and stream-status while a download
#       runs; SIGNAL NEWNYM gives the next stream a new circuit; SETCONF
#       ExitNodes steers streams to EXIT_FP.
#   control-stem.py password PORT PASSWORD
#       HASHEDPASSWORD authentication (and a wrong password refused).
#   control-stem.py hostile PORT
#       commands before authentication, an over-long line, a wrong cookie.
# Prints one "ok: ..." line per check; exits 1 at the first failure.
import hashlib
import socket
import subprocess
import sys
import threading
import time

import stem
import stem.connection
import stem.control
import stem.socket
from stem.control import EventType


def fail(msg):
    print("control-stem: FAIL: %s" % msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print("ok: %s" % msg, flush=True)


def connect(port):
    return stem.control.Controller.from_port(address="127.0.0.1", port=port)


def download(socks, url, sha, rate=None):
    args = ["curl", "-sS", "--fail", "--max-time", "120", "--socks5-hostname",
            "127.0.0.1:%d" % socks, "-o", "-", url]
    if rate:
        args[1:1] = ["--limit-rate", rate]
    out = subprocess.run(args, stdout=subprocess.PIPE, check=False)
    if out.returncode != 0:
        fail("download through SOCKS %d failed (curl %d)" % (socks, out.returncode))
    if hashlib.sha256(out.stdout).hexdigest() != sha:
        fail("downloaded file has the wrong SHA-256")
    return len(out.stdout)


def check_auth_methods(port):
    with stem.socket.ControlPort(address="127.0.0.1", port=port) as s:
        pi = stem.connection.get_protocolinfo(s)
        methods = set(pi.auth_methods)
        if stem.connection.AuthMethod.COOKIE not in methods or \
           stem.connection.AuthMethod.SAFECOOKIE not in methods:
            fail("PROTOCOLINFO methods %s lack COOKIE/SAFECOOKIE" % methods)
        if not pi.cookie_path:
            fail("PROTOCOLINFO gave no COOKIEFILE")
        ok("PROTOCOLINFO: %s, cookie %s, version %s"
           % (",".join(sorted(methods)), pi.cookie_path, pi.tor_version))
        stem.connection.authenticate_cookie(s, pi.cookie_path)
        ok("COOKIE authentication")
    with stem.socket.ControlPort(address="127.0.0.1", port=port) as s:
        pi = stem.connection.get_protocolinfo(s)
        stem.connection.authenticate_safecookie(s, pi.cookie_path)
        ok("SAFECOOKIE authentication")
    with stem.socket.ControlPort(address="127.0.0.1", port=port) as s:
        try:
            stem.connection.authenticate_password(s, "nope")
            fail("a password was accepted where only the cookie is configured")
        except stem.connection.AuthenticationFailure:
            ok("password refused when only cookie authentication is on")


def check_info(c):
    v = c.get_version()
    ok("version %s" % v)
    phase = c.get_info("status/bootstrap-phase")
    if "PROGRESS=100" not in phase:
        fail("bootstrap phase: %s" % phase)
    ok("bootstrap phase: %s" % phase)
    for key in ("config-file", "process/pid", "process/user", "uptime",
                "traffic/read", "traffic/written", "net/listeners/socks",
                "events/names", "info/names", "status/circuit-established"):
        val = c.get_info(key)
        if val is None:
            fail("GETINFO %s gave nothing" % key)
    if int(c.get_info("process/pid")) <= 1:
        fail("process/pid")
    ok("GETINFO config-file, process/*, uptime, traffic/*, net/listeners/socks, names")
    try:
        c.get_info("no/such/key")
        fail("an unknown GETINFO key was answered")
    except stem.InvalidArguments:
        ok("unknown GETINFO key refused (552)")


def check_conf(c):
    base = c.get_conf("MaxCircuitDirtiness")
    c.set_conf("MaxCircuitDirtiness", "1234")
    got = c.get_conf("MaxCircuitDirtiness")
    if got != "1234":
        fail("SETCONF MaxCircuitDirtiness=1234, GETCONF says %r" % got)
    c.reset_conf("MaxCircuitDirtiness")
    back = c.get_conf("MaxCircuitDirtiness")
    if back != base:
        fail("RESETCONF gave %r, the default was %r" % (back, base))
    ok("GETCONF/SETCONF/RESETCONF MaxCircuitDirtiness: %s -> %s -> %s" % (base, got, back))
    try:
        c.set_conf("SocksTimeout", "not-a-time")
        fail("a bad value was accepted")
    except (stem.InvalidArguments, stem.InvalidRequest) as e:
        ok("bad value refused: %s" % e)
    try:
        c.set_conf("NoSuchOption", "1")
        fail("an unknown option was accepted")
    except stem.InvalidArguments as e:
        ok("unknown option refused: %s" % e)
    try:
        c.set_conf("DataDirectory", "/tmp/elsewhere")
        fail("DataDirectory changed while running")
    except (stem.InvalidArguments, stem.InvalidRequest) as e:
        ok("DataDirectory change refused: %s" % e)
    socks = c.get_conf("SocksPort", multiple=True)
    if not socks:
        fail("GETCONF SocksPort is empty")
    ok("GETCONF SocksPort = %s" % socks)


class Recorder:
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def __call__(self, ev):
        with self.lock:
            self.events.append(ev)

    def of(self, cls_name):
        with self.lock:
            return [e for e in self.events if type(e).__name__ == cls_name]


def stream_circuits(rec, host):
    return [e.circ_id for e in rec.of("StreamEvent")
            if e.status == "SUCCEEDED" and e.target_address == host]


def check_events(c, socks, url, sha, host):
    rec = Recorder()
    c.add_event_listener(rec, EventType.CIRC, EventType.STREAM, EventType.BW,
                         EventType.NOTICE)
    n = download(socks, url, sha)
    time.sleep(1.5)
    streams = rec.of("StreamEvent")
    statuses = [e.status for e in streams if e.target_address == host]
    for want in ("NEW", "SENTCONNECT", "SUCCEEDED", "CLOSED"):
        if want not in statuses:
            fail("no STREAM %s event for %s (got %s)" % (want, host, statuses))
    ok("STREAM events for the download: %s" % " ".join(statuses))
    bws = rec.of("BandwidthEvent")
    if not bws or sum(b.read for b in bws) < n:
        fail("BW events: %d, %d bytes read in them (download %d)"
             % (len(bws), sum(b.read for b in bws), n))
    ok("BW events: %d, %d bytes read" % (len(bws), sum(b.read for b in bws)))
    circ_ids = stream_circuits(rec, host)
    if not circ_ids or circ_ids[-1] in (None, "0"):
        fail("SUCCEEDED stream without a circuit id")
    c.signal(stem.Signal.DUMP)
    time.sleep(1)
    if not [e for e in rec.of("LogEvent") if "Status:" in e.message]:
        fail("no NOTICE event for SIGNAL DUMP's status line")
    ok("NOTICE log events (SIGNAL DUMP)")
    c.remove_event_listener(rec)


def socks_get(socks, url):
    """A SOCKS5 CONNECT and an HTTP GET for url; returns the socket after
    the first bytes of the answer, leaving the rest unread (the stream
    stays open: allium's buffers fill, then back-pressure holds it)."""
    host_port = url.split("/")[2]
    host, port = host_port.split(":") if ":" in host_port else (host_port, "80")
    path = "/" + url.split("/", 3)[3]
    s = socket.create_connection(("127.0.0.1", socks), timeout=30)
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        fail("SOCKS greeting refused")
    hb = host.encode()
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(hb)]) + hb + int(port).to_bytes(2, "big"))
    rep = s.recv(10)
    if len(rep) < 2 or rep[1] != 0:
        fail("SOCKS CONNECT failed: %r" % rep)
    s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host_port)).encode())
    if not s.recv(100):
        fail("no answer on the SOCKS stream")
    return s


def check_live_status(c, socks, url, sha, host):
    s = socks_get(socks, url)
    try:
        seen_stream = None
        for s_ in c.get_streams():
            if s_.target_address == host and s_.status == "SUCCEEDED":
                seen_stream = s_
        if not seen_stream:
            fail("GETINFO stream-status does not show the open stream: %r"
                 % c.get_info("stream-status"))
        seen_circ = None
        for circ in c.get_circuits():
            if circ.id == seen_stream.circ_id:
                seen_circ = circ
        if not seen_circ or seen_circ.status != "BUILT" or len(seen_circ.path) < 3:
            fail("GETINFO circuit-status: the stream's circuit %s is not a built "
                 "3-hop circuit (%s)" % (seen_stream.circ_id, seen_circ))
        ok("stream-status: stream %s on circuit %s; circuit-status: %s via %s"
           % (seen_stream.id, seen_stream.circ_id, seen_circ.status,
              ",".join(nick for _, nick in seen_circ.path)))
    finally:
        s.close()
    return seen_circ


def check_newnym(c, socks, url, sha, host):
    rec = Recorder()
    c.add_event_listener(rec, EventType.STREAM, EventType.CIRC)
    download(socks, url, sha)
    download(socks, url, sha)
    time.sleep(0.5)
    before = stream_circuits(rec, host)
    if len(before) < 2 or before[-1] != before[-2]:
        fail("two streams in a row used different circuits: %s" % before)
    c.signal(stem.Signal.NEWNYM)
    time.sleep(0.5)
    download(socks, url, sha)
    time.sleep(0.5)
    after = stream_circuits(rec, host)
    if len(after) < 3 or after[-1] == before[-1]:
        fail("after NEWNYM the stream still used circuit %s (%s)" % (before[-1], after))
    ok("NEWNYM: circuit %s before, %s after" % (before[-1], after[-1]))
    circ = [e for e in rec.of("CircuitEvent") if e.id == after[-1]]
    if "BUILT" not in [e.status for e in circ] or len(circ[-1].path) < 3:
        fail("no CIRC BUILT event with a 3-hop path for circuit %s: %s"
             % (after[-1], [(e.status, e.path) for e in circ]))
    ok("CIRC events for circuit %s: %s, path %s"
       % (after[-1], " ".join(e.status for e in circ),
          ",".join(nick for _, nick in circ[-1].path)))
    c.remove_event_listener(rec)


def check_exitnodes(c, socks, url, sha, exit_fp):
    c.set_conf("ExitNodes", exit_fp)
    try:
        circ = None
        rec = Recorder()
        c.add_event_listener(rec, EventType.STREAM)
        download(socks, url, sha)
        time.sleep(0.5)
        ids = [e.circ_id for e in rec.of("StreamEvent") if e.status == "SUCCEEDED"]
        for cc in c.get_circuits():
            if ids and cc.id == ids[-1]:
                circ = cc
        if not circ or circ.path[-1][0] != exit_fp:
            fail("SETCONF ExitNodes=%s: the stream left through %s"
                 % (exit_fp, circ.path[-1] if circ else "?"))
        ok("SETCONF ExitNodes steers the next stream to %s" % exit_fp[:8])
        c.remove_event_listener(rec)
    finally:
        c.reset_conf("ExitNodes")


def cmd_client(port, socks, url, sha, exit_fp):
    host = url.split("/")[2].split(":")[0]
    check_auth_methods(port)
    with connect(port) as c:
        c.authenticate()
        check_info(c)
        check_conf(c)
        check_events(c, socks, url, sha, host)
        check_live_status(c, socks, url, sha, host)
        check_newnym(c, socks, url, sha, host)
        check_exitnodes(c, socks, url, sha, exit_fp)


def cmd_password(port, password):
    with stem.socket.ControlPort(address="127.0.0.1", port=port) as s:
        pi = stem.connection.get_protocolinfo(s)
        if stem.connection.AuthMethod.PASSWORD not in pi.auth_methods:
            fail("PROTOCOLINFO lacks HASHEDPASSWORD: %s" % (pi.auth_methods,))
        try:
            stem.connection.authenticate_password(s, password + "x")
            fail("a wrong password was accepted")
        except stem.connection.AuthenticationFailure:
            pass
    with connect(port) as c:
        c.authenticate(password=password)
        ok("HASHEDPASSWORD authentication (version %s); wrong password refused"
           % c.get_version())


def raw(port, data, read_for=3.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=read_for)
    s.sendall(data)
    got = b""
    end = time.time() + read_for
    try:
        while time.time() < end:
            chunk = s.recv(4096)
            if not chunk:
                return got, True
            got += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        return got, True
    finally:
        s.close()
    return got, False


def cmd_hostile(port):
    got, closed = raw(port, b"GETINFO version\r\n")
    if not got.startswith(b"514 ") or not closed:
        fail("GETINFO before authentication: %r (closed %s)" % (got, closed))
    ok("GETINFO before authentication: 514 and closed")
    got, closed = raw(port, b"SETCONF SocksPort=1\r\n")
    if not got.startswith(b"514 ") or not closed:
        fail("SETCONF before authentication: %r" % got)
    ok("SETCONF before authentication: 514 and closed")
    got, closed = raw(port, b"A" * 40000)
    if not got.startswith(b"500 ") or not closed:
        fail("over-long line: %r (closed %s)" % (got[:80], closed))
    ok("over-long line: 500 and closed")
    got, closed = raw(port, b"AUTHENTICATE " + b"00" * 32 + b"\r\n")
    if not got.startswith(b"515 ") or not closed:
        fail("wrong cookie: %r" % got)
    ok("wrong cookie: 515 and closed")
    got, closed = raw(port, b"PROTOCOLINFO\r\nPROTOCOLINFO\r\n")
    if b"\r\n514 " not in got or not closed:
        fail("second PROTOCOLINFO: %r" % got)
    ok("second PROTOCOLINFO before authentication: 514 and closed")


def main():
    if len(sys.argv) < 3:
        fail("usage: see the top of this file")
    what, port = sys.argv[1], int(sys.argv[2])
    if what == "client":
        cmd_client(port, int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
    elif what == "password":
        cmd_password(port, sys.argv[3])
    elif what == "hostile":
        cmd_hostile(port)
    else:
        fail("unknown command %s" % what)


if __name__ == "__main__":
    main()
