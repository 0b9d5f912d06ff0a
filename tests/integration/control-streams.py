#!/usr/bin/python3
# tests/integration/control-streams.py -- a controller that steers the
# allium client's circuits and streams, with stem (Debian python3-stem,
# unmodified), for the allium-control scenario (control-spec 3.8
# MAPADDRESS, 3.10 EXTENDCIRCUIT, 3.13 ATTACHSTREAM with
# __LeaveStreamsUnattached, 3.17 CLOSECIRCUIT; 4.1.1 CIRC, 4.1.2 STREAM).
#
#   control-streams.py PORT SOCKS URL SHA256 EXIT_FP
#       a 3-hop circuit through relays from the consensus ending at EXIT_FP
#       (EXTENDCIRCUIT with the path); __LeaveStreamsUnattached 1; a
#       download whose STREAM NEW the script attaches to that circuit (its
#       SHA-256 checked, the stream on that circuit); CLOSECIRCUIT;
#       MAPADDRESS of a name to the web server's address and a download
#       through the name (attached with circuit 0: allium chooses);
#       RESETCONF __LeaveStreamsUnattached and a download left to allium.
# Prints one "ok: ..." line per check; exits 1 at the first failure.
# Run with Debian's python3 (stem is installed for it).
import hashlib
import subprocess
import sys
import threading
import time

import stem
import stem.control
from stem.control import EventType


def fail(msg):
    print("control-streams: FAIL: %s" % msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print("ok: %s" % msg, flush=True)


def download(socks, url, sha):
    out = subprocess.run(["curl", "-sS", "--fail", "--max-time", "40",
                          "--socks5-hostname", "127.0.0.1:%d" % socks,
                          "-o", "-", url], stdout=subprocess.PIPE, check=False)
    if out.returncode != 0:
        fail("download of %s failed (curl %d)" % (url, out.returncode))
    if hashlib.sha256(out.stdout).hexdigest() != sha:
        fail("download of %s: wrong SHA-256" % url)
    return len(out.stdout)


class Attacher:
    """Attaches every new stream to port `port` to circuit `circ` ("0":
    allium chooses) and records the stream events."""

    def __init__(self, c, port, circ):
        self.c, self.port, self.circ = c, port, circ
        self.events, self.errors, self.attached = [], [], []
        self.lock = threading.Lock()

    def __call__(self, ev):
        with self.lock:
            self.events.append(ev)
        if ev.status != "NEW" or ev.target_port != self.port:
            return
        try:
            self.c.attach_stream(ev.id, self.circ)
            with self.lock:
                self.attached.append(ev.id)
        except stem.ControllerError as e:
            with self.lock:
                self.errors.append("ATTACHSTREAM %s %s: %s" % (ev.id, self.circ, e))

    def succeeded(self):
        with self.lock:
            return [(e.id, e.circ_id, e.target_address) for e in self.events
                    if e.status == "SUCCEEDED"]


def pick_path(c, exit_fp):
    ns = [r for r in c.get_network_statuses()
          if "Running" in r.flags and r.fingerprint != exit_fp]
    ns.sort(key=lambda r: ("Guard" not in r.flags, r.nickname))
    if len(ns) < 2:
        fail("fewer than 2 relays besides the exit in the consensus")
    return [ns[0].fingerprint, ns[1].fingerprint, exit_fp]


def main():
    port, socks, url, sha, exit_fp = (int(sys.argv[1]), int(sys.argv[2]),
                                      sys.argv[3], sys.argv[4], sys.argv[5])
    host_port = url.split("/")[2]
    web_host, web_port = host_port.rsplit(":", 1)
    web_port = int(web_port)
    t0 = time.time()
    with stem.control.Controller.from_port(address="127.0.0.1", port=port) as c:
        c.authenticate()
        path = pick_path(c, exit_fp)
        circ = c.new_circuit(path, await_build=True, timeout=30)
        got = [h[0] for h in c.get_circuit(circ).path]
        if got != path:
            fail("EXTENDCIRCUIT %s built %s" % (path, got))
        ok("EXTENDCIRCUIT 0 %s: circuit %s BUILT" % (",".join("$" + p[:8] for p in path), circ))

        c.set_conf("__LeaveStreamsUnattached", "1")
        att = Attacher(c, web_port, circ)
        c.add_event_listener(att, EventType.STREAM)
        n = download(socks, url, sha)
        time.sleep(0.5)
        if att.errors:
            fail("; ".join(att.errors))
        used = [s for s in att.succeeded() if s[0] in att.attached]
        if not used or any(s[1] != circ for s in used):
            fail("the stream did not use circuit %s: %s" % (circ, att.succeeded()))
        ok("__LeaveStreamsUnattached 1: stream %s attached by the controller to "
           "circuit %s, %d bytes, SHA-256 ok" % (used[0][0], circ, n))
        c.remove_event_listener(att)

        c.close_circuit(circ)
        time.sleep(0.5)
        if [x for x in c.get_circuits() if x.id == circ]:
            fail("circuit %s still listed after CLOSECIRCUIT" % circ)
        ok("CLOSECIRCUIT %s" % circ)

        name = "mapped-web.example"
        mapped = c.map_address({name: web_host})
        if mapped.get(name) != web_host:
            fail("MAPADDRESS answered %r" % mapped)
        if "%s %s" % (name, web_host) not in c.get_info("address-mappings/control"):
            fail("GETINFO address-mappings/control lacks the mapping")
        att = Attacher(c, web_port, "0")
        c.add_event_listener(att, EventType.STREAM)
        n = download(socks, url.replace(web_host, name, 1), sha)
        c.remove_event_listener(att)
        if att.errors or not att.attached:
            fail("ATTACHSTREAM x 0: %s" % (att.errors or "no stream"))
        ok("MAPADDRESS %s=%s: download through the name, %d bytes (ATTACHSTREAM "
           "with circuit 0)" % (name, web_host, n))

        c.reset_conf("__LeaveStreamsUnattached")
        if c.get_conf("__LeaveStreamsUnattached") not in ("0", None):
            fail("RESETCONF __LeaveStreamsUnattached")
        download(socks, url, sha)
        ok("RESETCONF __LeaveStreamsUnattached: allium attaches again (%.1f s in all)"
           % (time.time() - t0))


if __name__ == "__main__":
    main()
