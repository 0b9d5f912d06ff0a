#!/usr/bin/env python3
"""dns-responder.py -- a tiny DNS server for integration scenarios (RFC 1035
over UDP on 127.0.0.1 only): answers A and PTR questions from fixed
records given on the command line, NXDOMAIN for other names, an empty
NOERROR for other types of a known name.  Counts the queries it answered
in --log (one line per query: type and name).

  dns-responder.py --port P --a NAME=IPV4 ... --ptr IPV4=NAME ... [--log F]
      [--slow NAME=SECONDS ...]
--slow answers NAME that many seconds late, without holding up the others
(allium-exit-strace: the exit must go on serving while a lookup waits).
"""
import argparse
import select
import socket
import struct
import sys
import time


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def ptr_name(ipv4):
    return ".".join(reversed(ipv4.split("."))) + ".in-addr.arpa"


def answer(msg, recs, ptrs, ttl):
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1:
        return None, None, None
    qname, off = read_name(msg, 12)
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    question = msg[12:off + 4]
    key = qname.lower().rstrip(".")
    rdata = None
    known = key in recs or key in ptrs
    if qtype == 1 and key in recs:
        rdata = socket.inet_aton(recs[key])
    elif qtype == 12 and key in ptrs:
        rdata = encode_name(ptrs[key])
    rcode = 0 if known else 3
    rflags = 0x8000 | (flags & 0x0100) | 0x0400 | rcode   # QR, RD copied, AA
    head = struct.pack("!HHHHHH", qid, rflags, 1, 1 if rdata else 0, 0, 0)
    body = question
    if rdata:
        body += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, ttl, len(rdata)) + rdata
    return head + body, qtype, qname


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--a", action="append", default=[])
    ap.add_argument("--ptr", action="append", default=[])
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--log")
    ap.add_argument("--slow", action="append", default=[])
    a = ap.parse_args()
    recs = dict(x.lower().split("=", 1) for x in a.a)
    ptrs = {ptr_name(k): v for k, v in (x.split("=", 1) for x in a.ptr)}
    slow = {k.lower(): float(v) for k, v in (x.split("=", 1) for x in a.slow)}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", a.port))
    log = open(a.log, "a", buffering=1) if a.log else None
    late = []    # (when, answer, peer) for --slow names
    while True:
        now = time.monotonic()
        for item in [x for x in late if x[0] <= now]:
            s.sendto(item[1], item[2])
            late.remove(item)
        wait = max(0.0, min(x[0] for x in late) - now) if late else None
        if not select.select([s], [], [], wait)[0]:
            continue
        msg, peer = s.recvfrom(4096)
        try:
            out, qtype, qname = answer(msg, recs, ptrs, a.ttl)
        except (ValueError, IndexError, struct.error):
            continue
        if out:
            delay = slow.get(qname.lower().rstrip("."), 0.0)
            if delay > 0:
                late.append((time.monotonic() + delay, out, peer))
            else:
                s.sendto(out, peer)
            if log:
                log.write("%d %s\n" % (qtype, qname))


if __name__ == "__main__":
    sys.exit(main())
