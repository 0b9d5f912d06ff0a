#!/usr/bin/python3
# tests/integration/control-onion.py -- an onion service made on allium's
# control port with stem (Debian python3-stem, unmodified) for the
# allium-control scenario (control-spec 3.27 ADD_ONION, 3.28 DEL_ONION,
# 3.9 onions/current, 4.1.25 HS_DESC).  Run with Debian's python3.
#
#   control-onion.py CONTROL_PORT TOR_SOCKS HTTP_PORT URL_PATH SHA256 AL_SOCKS
#       ADD_ONION (stem's create_ephemeral_hidden_service, Port=80 ->
#       127.0.0.1:HTTP_PORT, await_publication: HS_DESC UPLOAD and
#       UPLOADED seen); HSFETCH of it (HS_DESC REQUESTED, RECEIVED); a
#       tor client downloads URL_PATH through the onion
#       service (SHA-256 checked); onions/current lists it; DEL_ONION
#       removes it; a new tor stream (fresh SOCKS credentials, so a new
#       circuit) then fails within about 60 s.  Then a service with
#       ClientAuthV3: the tor client (no key) is refused; the allium client
#       gets the key with ONION_CLIENT_AUTH_ADD (VIEW shows it) and
#       downloads through the service itself; ONION_CLIENT_AUTH_REMOVE.
# Prints one "ok: ..." line per check; exits 1 at the first failure.
import hashlib
import subprocess
import sys
import time

import stem
import stem.control
from stem.control import EventType


def fail(msg):
    print("control-onion: FAIL: %s" % msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print("ok: %s" % msg, flush=True)


def curl(socks, url, user, max_time):
    args = ["curl", "-sS", "--fail", "--max-time", str(max_time),
            "--socks5-hostname", "127.0.0.1:%d" % socks,
            "--proxy-user", "%s:x" % user, "-o", "-", url]
    return subprocess.run(args, stdout=subprocess.PIPE, check=False)


def main():
    if len(sys.argv) != 7:
        fail("usage: control-onion.py CONTROL_PORT TOR_SOCKS HTTP_PORT "
             "URL_PATH SHA256 ALLIUM_SOCKS")
    port, socks, http = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    path, sha, al_socks = sys.argv[4], sys.argv[5], int(sys.argv[6])
    c = stem.control.Controller.from_port(address="127.0.0.1", port=port)
    c.authenticate()
    events = []
    c.add_event_listener(lambda e: events.append(e), EventType.HS_DESC)
    t0 = time.time()
    try:
        r = c.create_ephemeral_hidden_service({80: "127.0.0.1:%d" % http},
                                              await_publication=True,
                                              timeout=60)
    except stem.ControllerError as exc:
        fail("ADD_ONION: %s" % exc)
    sid = r.service_id
    if len(sid) != 56 or not r.private_key or r.private_key_type != "ED25519-V3":
        fail("ADD_ONION reply: id %r, key type %r" % (sid, r.private_key_type))
    ok("ADD_ONION gave a v3 service id and an ED25519-V3 key; published "
       "after %.1f s" % (time.time() - t0))
    time.sleep(0.5)
    uploaded = [e for e in events if e.action == stem.HSDescAction.UPLOADED]
    if not uploaded:
        fail("no HS_DESC UPLOADED event")
    ok("HS_DESC UPLOADED seen (%d event(s), from %s)"
       % (len(uploaded), uploaded[0].directory_fingerprint))
    # HSFETCH: the allium client fetches its own service's descriptor
    n0 = len(events)
    resp = c.msg("HSFETCH %s" % sid)
    if not resp.is_ok():
        fail("HSFETCH: %s" % resp)
    deadline = time.time() + 30
    got_ev = None
    while time.time() < deadline and not got_ev:
        for e in events[n0:]:
            if e.address == sid and e.action in (stem.HSDescAction.RECEIVED,
                                                 stem.HSDescAction.FAILED):
                got_ev = e
        time.sleep(0.2)
    if not got_ev or got_ev.action != stem.HSDescAction.RECEIVED:
        fail("HSFETCH: no HS_DESC RECEIVED (%s)" % got_ev)
    if not any(e.action == stem.HSDescAction.REQUESTED and e.address == sid
               for e in events[n0:]):
        fail("HSFETCH: no HS_DESC REQUESTED")
    ok("HSFETCH: HS_DESC REQUESTED and RECEIVED from %s"
       % got_ev.directory_fingerprint)
    onions = c.list_ephemeral_hidden_services()
    if onions != [sid]:
        fail("onions/current is %r, want [%r]" % (onions, sid))
    ok("GETINFO onions/current lists the service")
    url = "http://%s.onion%s" % (sid, path)
    t1 = time.time()
    got = None
    for attempt in range(3):
        out = curl(socks, url, "onion-ok-%d" % attempt, 60)
        if out.returncode == 0:
            got = out.stdout
            break
        print("control-onion: download attempt %d failed (curl %d)"
              % (attempt + 1, out.returncode), flush=True)
        time.sleep(2)
    if got is None:
        fail("the tor client could not download through the onion service")
    if hashlib.sha256(got).hexdigest() != sha:
        fail("the download through the onion service has the wrong SHA-256")
    ok("a tor client downloaded %d bytes through it in %.1f s (SHA-256 ok)"
       % (len(got), time.time() - t1))
    if not c.remove_ephemeral_hidden_service(sid):
        fail("DEL_ONION did not know the service")
    if c.list_ephemeral_hidden_services() != []:
        fail("onions/current still lists the service after DEL_ONION")
    if c.remove_ephemeral_hidden_service(sid):
        fail("a second DEL_ONION succeeded")
    ok("DEL_ONION removed it (a second one: 552)")
    t2 = time.time()
    out = curl(socks, url, "onion-gone", 75)
    took = time.time() - t2
    if out.returncode == 0:
        fail("a new stream still reached the removed service")
    if took > 80:
        fail("the failing stream took %.1f s" % took)
    ok("a new stream to the removed service fails (curl %d after %.1f s)"
       % (out.returncode, took))
    check_client_auth(c, socks, al_socks, http, path, sha)
    c.close()


def check_client_auth(c, socks, al_socks, http, path, sha):
    """ClientAuthV3 on ADD_ONION; ONION_CLIENT_AUTH_ADD / VIEW / REMOVE on
    the allium client, which then visits the service itself."""
    import base64
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519
    raw = serialization.Encoding.Raw
    sk = x25519.X25519PrivateKey.generate()
    priv = sk.private_bytes(raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    pub = sk.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    pub32 = base64.b32encode(pub).decode().rstrip("=")
    try:
        r = c.create_ephemeral_hidden_service(
            {80: "127.0.0.1:%d" % http}, discard_key=True,
            await_publication=True, timeout=60, client_auth_v3=pub32)
    except stem.ControllerError as exc:
        fail("ADD_ONION ClientAuthV3: %s" % exc)
    sid = r.service_id
    url = "http://%s.onion%s" % (sid, path)
    out = curl(socks, url, "auth-none", 60)
    if out.returncode == 0:
        fail("the tor client without the key reached a ClientAuthV3 service")
    ok("ClientAuthV3 service published; the tor client without its key "
       "is refused (curl %d)" % out.returncode)
    key64 = base64.b64encode(priv).decode()
    resp = c.msg("ONION_CLIENT_AUTH_ADD %s x25519:%s ClientName=scenario"
                 % (sid, key64))
    if not resp.is_ok():
        fail("ONION_CLIENT_AUTH_ADD: %s" % resp)
    view = str(c.msg("ONION_CLIENT_AUTH_VIEW %s" % sid))
    if "CLIENT %s x25519:%s ClientName=scenario" % (sid, key64) not in view:
        fail("ONION_CLIENT_AUTH_VIEW: %r" % view)
    got = None
    for attempt in range(3):
        out = curl(al_socks, url, "auth-key-%d" % attempt, 60)
        if out.returncode == 0:
            got = out.stdout
            break
        print("control-onion: authorized download attempt %d failed (curl "
              "%d)" % (attempt + 1, out.returncode), flush=True)
        time.sleep(2)
    if got is None or hashlib.sha256(got).hexdigest() != sha:
        fail("the allium client with ONION_CLIENT_AUTH_ADD could not "
             "download through the ClientAuthV3 service")
    ok("ONION_CLIENT_AUTH_ADD / VIEW: the allium client, holding the key, "
       "downloaded through it (SHA-256 ok)")
    resp = c.msg("ONION_CLIENT_AUTH_REMOVE %s" % sid)
    left = str(c.msg("ONION_CLIENT_AUTH_VIEW")).splitlines()
    if not resp.is_ok() or any(l.startswith("CLIENT ") for l in left):
        fail("ONION_CLIENT_AUTH_REMOVE: %s" % resp)
    c.remove_ephemeral_hidden_service(sid)
    ok("ONION_CLIENT_AUTH_REMOVE removed the key")


if __name__ == "__main__":
    main()
