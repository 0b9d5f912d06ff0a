#!/usr/bin/env python3
"""strace-dns-check.py -- reads the log of
`strace -f -ttt -T -x -s 256 -e trace=%network,%file,%desc,%process`
run on one allium exit and checks that its names were resolved without
blocking calls (used by tests/integration/allium-exit-strace; issue 10,
done-when 4: "strace of an exit under a scenario shows no blocking
resolver calls on the main thread").

The main thread is the first process in the log (the one strace started),
its tid equals the pid.  File descriptors are followed through socket(),
accept4(), fcntl(F_SETFL), ioctl(FIONBIO), dup*() and close(), so each
socket's O_NONBLOCK state is known.  A "DNS socket" is one that sent to or
connected to port 53 or to --dns-port (the scenario's DNS responder).

Violations (each listed; exit status 1 when there is one):
  - an open/stat/access of a system resolver file (/etc/hosts,
    /etc/nsswitch.conf, /etc/gai.conf, /etc/host.conf, /etc/resolv.conf,
    /etc/services, libnss_*), or a connect to nscd's or systemd-resolved's
    socket: what getaddrinfo()/gethostbyname() do;
  - any packet or connect to port 53 (the system resolver's port: allium
    reads only its ServerDNSResolvConfFile);
  - DNS traffic on a socket not known to be non-blocking;
  - poll/ppoll/select/pselect6 waiting on a DNS socket with a timeout
    other than 0 (the glibc resolver's wait), or any call on a DNS socket
    that took longer than --max-block seconds (-T; default 1: a
    non-blocking call returns at once, but strace and a loaded machine
    stretch it);
  - any of the above, or any use of a DNS socket, in a thread other than
    the main thread (allium's worker threads must not resolve names).
Each of those is counted over the whole log; --since EPOCH only splits the
summary into startup and the checked run.

Expected (missing ones fail too, so the check fails if resolution moved or
broke): a query for each --expect NAME (case-insensitive: evdns
randomises the case) sent from the main thread after --since, answers
read there, and the DNS socket handled by the event loop (epoll_ctl).

  strace-dns-check.py --log F --dns-port P [--since EPOCH]
      [--expect NAME ...] [--slow NAME=SECONDS ...] [--max-block S]
      [--expect-violations]
--slow NAME=SECONDS: the responder answered NAME that late; the answer must
have been read no sooner than 0.8 x SECONDS after the query left, and the
main thread must have gone on working meanwhile (at least one connect():
the scenario opens another stream through the exit while it waits).
--expect-violations inverts the verdict (the scenario's self-test on a
strace log of getent, which does resolve through the system resolver).
"""
import argparse
import re
import sys

RESOLVER_FILES = ("/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf",
                  "/etc/host.conf", "/etc/resolv.conf", "/etc/services")
RESOLVER_SOCKETS = ("nscd", "/run/systemd/resolve", "/var/run/systemd/resolve")
PATH_CALLS = {"open", "openat", "openat2", "creat", "stat", "lstat",
              "newfstatat", "fstatat64", "statx", "access", "faccessat",
              "faccessat2", "readlink", "readlinkat", "execve", "statfs",
              "inotify_add_watch", "name_to_handle_at"}
SEND_CALLS = {"sendto", "sendmsg", "sendmmsg", "write", "writev", "send"}
RECV_CALLS = {"recvfrom", "recvmsg", "recvmmsg", "read", "readv", "recv"}
WAIT_CALLS = {"poll", "ppoll", "select", "pselect6", "_newselect"}

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-f]+|\?)"
                  r"((?:\s+[^<\s].*?)?)(?:\s+<(\d+\.\d+)>)?$")
QSTR = re.compile(r'"((?:[^"\\]|\\.)*)"')
PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


def unescape(s):
    """strace's C-style string (with -x) as bytes."""
    out = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "\\": 92,
              '"': 34, "'": 39, "a": 7, "b": 8}
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("latin-1", "replace")
            i += 1
            continue
        n = s[i + 1] if i + 1 < len(s) else ""
        if n == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif n.isdigit():
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        else:
            out.append(simple.get(n, ord(n) if n else 92))
            i += 2
    return bytes(out)


def dns_question(buf):
    """(qtype, qname) of a DNS query message, or None."""
    if len(buf) < 17:
        return None
    off, labels = 12, []
    while off < len(buf):
        n = buf[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 or off + 1 + n > len(buf):
            return None
        labels.append(buf[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    else:
        return None
    if off + 2 > len(buf):
        return None
    return (buf[off] << 8 | buf[off + 1]), ".".join(labels).lower()


def split_top(args):
    """Top-level comma-separated arguments (brackets and strings kept)."""
    parts, depth, cur, i, inq = [], 0, "", 0, False
    while i < len(args):
        c = args[i]
        if inq:
            cur += c
            if c == "\\" and i + 1 < len(args):
                cur += args[i + 1]
                i += 1
            elif c == '"':
                inq = False
        elif c == '"':
            inq = True
            cur += c
        elif c in "[{(":
            depth += 1
            cur += c
        elif c in "]})":
            depth -= 1
            cur += c
        elif c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        parts.append(cur.strip())
    return parts


def c_rest(body):
    """What follows a call's return value (errno name, comment, time)."""
    c = CALL.match(body)
    return c.group(4) if c else ""


def first_int(s):
    m = re.match(r"\s*(-?\d+)", s)
    return int(m.group(1)) if m else None


class Checker:
    def __init__(self, dns_port, since, max_block):
        self.dns_ports = {53, dns_port}
        self.dns_port = dns_port
        self.since = since
        self.max_block = max_block
        self.main = None
        self.fds = {}            # fd -> {"nb": bool|None, "dns": port|None}
        self.violations = []
        self.queries = []        # (tid, t, qtype, qname)
        self.answers = []        # (t, qname) read on the main thread
        self.main_calls = []     # (t, syscall) of the main thread after since
        self.counts = {}
        self.threads = set()
        self.thread_names = {}   # syscall -> count, threads other than main
        self.thread_calls = 0
        self.lines = 0
        self.pending = {}

    def count(self, key, n=1):
        self.counts[key] = self.counts.get(key, 0) + n

    def bad(self, tid, t, what, body):
        where = "main thread" if tid == self.main else "thread %d" % tid
        phase = "startup" if t < self.since else "run"
        self.count("violations_" + phase)
        self.violations.append("%s (%s, %.6f, %s): %s" % (what, where, t, phase,
                                                         body[:200]))

    def feed(self, line):
        m = LINE.match(line.rstrip("\n"))
        if not m:
            return
        tid, t, body = int(m.group(1)), float(m.group(2)), m.group(3)
        self.lines += 1
        if self.main is None:
            self.main = tid
        if body.endswith("<unfinished ...>"):
            self.pending[tid] = body[:-len("<unfinished ...>")].rstrip()
            return
        r = re.match(r"^<\.\.\. \w+ resumed>(.*)$", body)
        if r:
            body = self.pending.pop(tid, "") + r.group(1)
        if body.startswith(("+++", "---")):
            return
        c = CALL.match(body)
        if not c:
            return
        name, args, ret = c.group(1), c.group(2), c.group(3)
        dur = float(c.group(5)) if c.group(5) else 0.0
        if tid != self.main:
            self.threads.add(tid)
            self.thread_calls += 1
            self.thread_names[name] = self.thread_names.get(name, 0) + 1
        if tid == self.main and t >= self.since:
            self.count("main_calls_run")
            self.main_calls.append((t, c.group(1)))
        self.call(tid, t, name, args, ret, dur, body)

    def call(self, tid, t, name, args, ret, dur, body):
        rv = first_int(ret)
        fd = first_int(args)
        if name in PATH_CALLS:          # resolver files
            q = QSTR.search(args)
            path = unescape(q.group(1)).decode("latin-1") if q else ""
            base = path.rsplit("/", 1)[-1]
            if path in RESOLVER_FILES or base.startswith("libnss_"):
                self.bad(tid, t, "resolver file %s" % path, body)
            return
        if name == "connect" and "AF_UNIX" in args and any(
                s in args for s in RESOLVER_SOCKETS):
            self.bad(tid, t, "resolver daemon socket", body)
        if self.track_fd(tid, name, args, fd, rv):
            return
        self.dns_call(tid, t, name, args, fd, rv, dur, body)

    def fd_state(self, fd):
        return self.fds.setdefault(fd, {"nb": None, "dns": None})

    def track_fd(self, tid, name, args, fd, rv):
        """Descriptor bookkeeping (O_NONBLOCK, epoll); True if consumed."""
        made = rv is not None and rv >= 0
        if name in ("socket", "accept", "accept4"):
            if made:
                self.fds[rv] = {"nb": "SOCK_NONBLOCK" in args, "dns": None}
            return True
        if name == "close":
            if fd is not None:
                self.fds.pop(fd, None)
            return True
        if name in ("dup", "dup2", "dup3"):
            if made and fd in self.fds:
                self.fds[rv] = dict(self.fds[fd])
            return True
        a = split_top(args)
        if name == "fcntl" and fd is not None and len(a) >= 2:
            if a[1] == "F_SETFL" and rv == 0 and len(a) >= 3:
                self.fd_state(fd)["nb"] = "O_NONBLOCK" in a[2]
            elif a[1].startswith("F_DUPFD") and made and fd in self.fds:
                self.fds[rv] = dict(self.fds[fd])
            return True
        if name == "ioctl" and fd is not None and "FIONBIO" in args:
            if rv == 0:
                self.fd_state(fd)["nb"] = "[0]" not in args
            return True
        if name == "epoll_ctl":
            target = first_int(a[2]) if len(a) >= 3 else None
            if target is not None and tid == self.main and rv == 0 and \
                    a[1] in ("EPOLL_CTL_ADD", "EPOLL_CTL_MOD"):
                self.fd_state(target)["ep"] = True
                self.note_dns_in_loop(self.fds[target])
            return True
        return False

    def dns_call(self, tid, t, name, args, fd, rv, dur, body):
        """A call that may send to, wait on or read a DNS socket."""
        main = tid == self.main
        ports = [int(p) for p in PORT.findall(args)]
        st = self.fds.get(fd) if fd is not None else None
        if name in ("connect", "sendto", "sendmsg", "sendmmsg") and \
                any(p in self.dns_ports for p in ports):
            port = next(p for p in ports if p in self.dns_ports)
            st = self.fd_state(fd)
            st["dns"] = port
            self.note_dns_in_loop(st)
            if port == 53 and self.dns_port != 53:
                self.bad(tid, t, "packet to port 53 (the system resolver)", body)
        if st is None or not st["dns"]:
            if name in WAIT_CALLS:
                self.wait_call(tid, t, name, args, body)
            return
        if not main:
            self.bad(tid, t, "DNS socket used outside the main thread", body)
        if st["nb"] is not True:
            self.bad(tid, t, "%s on a DNS socket not made non-blocking" % name,
                     body)
        if dur > self.max_block:
            self.bad(tid, t, "%s on a DNS socket blocked %.3fs" % (name, dur),
                     body)
        if not main or name == "connect":
            return
        q = QSTR.search(args)
        question = dns_question(unescape(q.group(1))) if q else None
        if name in SEND_CALLS:
            self.count("dns_sends_main")
            if question and t >= self.since:
                self.queries.append((tid, t) + question)
        elif name in RECV_CALLS:
            self.count("dns_recv_main")
            if rv is not None and rv > 0:
                self.count("dns_answers_main")
                if question:
                    self.answers.append((t, question[1]))
            elif "EAGAIN" in c_rest(body):
                self.count("dns_eagain_main")

    def note_dns_in_loop(self, st):
        """Count a DNS socket the main thread gave to epoll, once."""
        if st.get("dns") and st.get("ep") and not st.get("counted"):
            st["counted"] = True
            self.count("dns_epoll_ctl")

    def wait_call(self, tid, t, name, args, body):
        """poll/select: fail when one waits on a DNS socket with a timeout."""
        a = split_top(args)
        if name == "poll":
            fds = [int(x) for x in re.findall(r"fd=(-?\d+)", a[0] if a else "")]
            zero = len(a) >= 3 and first_int(a[2]) == 0
        elif name == "ppoll":
            fds = [int(x) for x in re.findall(r"fd=(-?\d+)", a[0] if a else "")]
            zero = len(a) >= 3 and re.fullmatch(
                r"\{tv_sec=0, tv_nsec=0\}", a[2]) is not None
        else:
            fds = [int(x) for s in a[1:4] for x in re.findall(r"\d+", s)
                   if s.startswith("[")]
            zero = len(a) >= 5 and re.fullmatch(
                r"\{tv_sec=0, tv_u?nsec=0\}", a[4]) is not None
        if tid == self.main:
            self.count("main_waits" + ("_zero" if zero else "_timeout"))
        dns = [f for f in fds if self.fds.get(f, {}).get("dns")]
        if dns and not zero:
            self.bad(tid, t, "%s with a timeout on DNS socket(s) %s" % (name, dns),
                     body)


def slow_window(ck, name, seconds):
    """The main thread while the query for name waited for its answer:
    (summary, problem or None)."""
    name = name.lower().rstrip(".")
    sent = [q[1] for q in ck.queries if q[3] == name]
    if not sent:
        return None, "no query for %s (--slow)" % name
    got = [t for t, n in ck.answers if n == name and t > sent[0]]
    if not got:
        return None, "no answer read for %s (--slow)" % name
    t0, t1 = sent[0], got[0]
    calls = [c for t, c in ck.main_calls if t0 < t < t1]
    other = [c for c in calls if c not in ("epoll_wait", "epoll_pwait")]
    connects = calls.count("connect")
    summary = ("while %s waited %.2f s for its answer the main thread made %d "
               "calls (%d besides epoll_wait), %d connect()"
               % (name, t1 - t0, len(calls), len(other), connects))
    if t1 - t0 < 0.8 * seconds:
        return summary, "%s was answered after %.2f s, not ~%.1f s: the slow answer was not waited for" % (
            name, t1 - t0, seconds)
    if connects < 1:
        return summary, "the main thread made no connect() while %s waited" % name
    return summary, None


def check(lines, dns_port, since=0.0, expect=(), max_block=1.0,
          expect_violations=False):
    """(checker, missing expectations) for the lines of one log."""
    ck = Checker(dns_port, since, max_block)
    for line in lines:
        ck.feed(line)
    missing = []
    if ck.main is None:
        missing.append("the log is empty: strace traced nothing")
    names = {q[3] for q in ck.queries}
    for want in expect:
        if want.lower().rstrip(".") not in names:
            missing.append("no DNS query for %s sent from the main thread" % want)
    if not expect_violations:
        if ck.counts.get("dns_answers_main", 0) < 1:
            missing.append("no DNS answer read on the main thread")
        if ck.counts.get("dns_epoll_ctl", 0) < 1:
            missing.append("no DNS socket given to the event loop (epoll_ctl)")
    return ck, missing


def selftest():
    """The rules on small made-up logs: each bad one must be caught."""
    def q(name):
        b = bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])
        for label in name.split("."):
            b += bytes([len(label)]) + label.encode()
        return "".join("\\x%02x" % x for x in b + bytes([0, 0, 1, 0, 1]))
    P = 5353
    to = '{sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr("127.0.0.1")}, 16' % P
    def send(tid, fd, name="wWw.exit.test", t="2.0"):
        return '%d %s sendto(%d, "%s", 31, 0, %s) = 31 <0.000020>' % (
            tid, t, fd, q(name), to)
    base = ['100 1.0 execve("/x/allium", ["allium"], 0x1 /* 1 vars */) = 0 <0.001>',
            '100 1.1 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 10 <0.00002>',
            '100 1.2 epoll_ctl(3, EPOLL_CTL_ADD, 10, {events=EPOLLIN, data={u32=10, u64=10}}) = 0 <0.00001>',
            send(100, 10),
            '100 2.1 recvfrom(10, "\\x12\\x34", 1500, 0, NULL, NULL) = 47 <0.000010>',
            '100 2.2 recvfrom(10, 0x7ffe, 1500, 0, 0x7ffd, [16]) = -1 EAGAIN (Resource temporarily unavailable) <0.000010>']
    cases = [
        ("clean", [], 0),
        ("fcntl O_NONBLOCK", ['100 3.0 socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 12 <0.1>',
                              '100 3.1 fcntl(12, F_SETFL, O_RDWR|O_NONBLOCK) = 0 <0.1>',
                              send(100, 12, t="3.2")], 0),
        ("poll with timeout 0", ['100 3.0 poll([{fd=10, events=POLLIN}], 1, 0) = 0 (Timeout) <0.00001>'], 0),
        ("blocking socket", ['100 3.0 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP) = 11 <0.00001>',
                             send(100, 11, t="3.1")], 1),
        ("fd reused blocking", ['100 3.0 close(10) = 0 <0.00001>',
                                '100 3.1 socket(AF_INET6, SOCK_DGRAM, IPPROTO_IP) = 10 <0.00001>',
                                send(100, 10, t="3.2")], 1),
        ("fcntl clears O_NONBLOCK", ['100 3.0 fcntl(10, F_SETFL, O_RDWR) = 0 <0.00001>',
                                    send(100, 10, t="3.1")], 1),
        ("query from a worker", [send(101, 10, t="3.0")], 1),
        ("query from a worker, interrupted",
         ['101 3.0 sendto(10, "%s", 31, 0, %s <unfinished ...>' % (q("a.b"), to),
          '100 3.0 epoll_wait(3, [], 64, 10) = 0 <0.010>',
          '101 3.1 <... sendto resumed>) = 31 <0.000030>'], 1),
        ("poll with a timeout", ['100 3.0 poll([{fd=10, events=POLLIN}], 1, 5000) = 1 ([{fd=10, revents=POLLIN}]) <0.00001>'], 1),
        ("ppoll with a timeout", ['100 3.0 ppoll([{fd=10, events=POLLIN}], 1, {tv_sec=5, tv_nsec=0}, NULL, 8) = 1 <0.00001>'], 1),
        ("recvfrom blocked", ['100 3.0 recvfrom(10, "\\x12", 1500, 0, NULL, NULL) = 47 <2.500000>'], 1),
        ("/etc/hosts in a worker", ['101 3.0 openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 5 <0.00001>'], 1),
        ("libnss", ['100 3.0 openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libnss_dns.so.2", O_RDONLY|O_CLOEXEC) = 5 <0.00001>'], 1),
        ("nscd", ['100 3.0 connect(7, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory) <0.00001>'], 1),
        ("port 53", ['100 3.0 connect(10, {sa_family=AF_INET6, sin6_port=htons(53), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0 <0.00001>'], 1),
    ]
    bad = 0
    for label, extra, want in cases:
        ck, missing = check(base + extra, P, expect=["www.exit.test"])
        got = 1 if ck.violations else 0
        ok = got == want and not missing
        bad += 0 if ok else 1
        print("strace-dns-check: selftest %-34s %s (%d violation(s)%s)"
              % (label, "ok" if ok else "WRONG", len(ck.violations),
                 "; missing: " + "; ".join(missing) if missing else ""))
    slow_q = send(100, 10, "slow.exit.test", "3.0")
    slow_a = ('100 6.0 recvfrom(10, "%s", 1500, 0, NULL, NULL) = 31 <0.00001>'
              % q("sLoW.exit.test"))
    for label, extra, want in (
            ("slow answer, exit kept working",
             [slow_q, '100 4.0 connect(13, {sa_family=AF_INET, sin_port=htons(80), '
              'sin_addr=inet_addr("127.0.0.2")}, 16) = -1 EINPROGRESS (Operation '
              'now in progress) <0.00002>', slow_a], True),
            ("slow answer, nothing else done", [slow_q, slow_a], False),
            ("slow name answered at once",
             [slow_q, slow_a.replace("100 6.0", "100 3.1")], False)):
        ck, _ = check(base + extra, P)
        _, problem = slow_window(ck, "slow.exit.test", 2.0)
        ok = (problem is None) == want
        bad += 0 if ok else 1
        print("strace-dns-check: selftest %-34s %s (%s)"
              % (label, "ok" if ok else "WRONG", problem or "no problem"))
    for label, drop in (("no query sent", 3), ("no answer read", 4),
                        ("not in the event loop", 2)):
        _, missing = check(base[:drop] + base[drop + 1:], P, expect=["www.exit.test"])
        ok = len(missing) >= 1
        bad += 0 if ok else 1
        print("strace-dns-check: selftest %-34s %s (missing: %s)"
              % (label, "ok" if ok else "WRONG", "; ".join(missing) or "none"))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log")
    ap.add_argument("--dns-port", type=int)
    ap.add_argument("--since", type=float, default=0.0)
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--max-block", type=float, default=1.0)
    ap.add_argument("--expect-violations", action="store_true")
    ap.add_argument("--slow", action="append", default=[],
                    help="NAME=SECONDS answered that late by the responder")
    ap.add_argument("--selftest", action="store_true")
    o = ap.parse_args()
    if o.selftest:
        return selftest()
    if not o.log or o.dns_port is None:
        ap.error("--log and --dns-port are required")
    with open(o.log, errors="replace") as f:
        ck, missing = check(f, o.dns_port, o.since, o.expect, o.max_block,
                            o.expect_violations)
    c = ck.counts
    names = {}
    for _, _, qtype, qname in ck.queries:
        names.setdefault(qname, set()).add(qtype)
    print("strace-dns-check: %d lines; main thread %s (%d calls after startup); "
          "%d other thread(s), %d calls: %s"
          % (ck.lines, ck.main, c.get("main_calls_run", 0), len(ck.threads),
             ck.thread_calls, ", ".join("%s %d" % kv for kv in sorted(
                 ck.thread_names.items(), key=lambda kv: -kv[1])) or "none"))
    print("strace-dns-check: main thread: %d DNS packets sent (%d queries after "
          "startup: %s), %d receives (%d answers, %d EAGAIN), %d DNS socket(s) "
          "in the event loop (epoll_ctl); poll/select: %d with timeout 0, %d with a timeout (none "
          "on a DNS socket unless listed below)"
          % (c.get("dns_sends_main", 0), len(ck.queries),
             ", ".join("%s %s" % (n, "/".join(str(q) for q in sorted(t)))
                       for n, t in sorted(names.items())) or "none",
             c.get("dns_recv_main", 0), c.get("dns_answers_main", 0),
             c.get("dns_eagain_main", 0), c.get("dns_epoll_ctl", 0),
             c.get("main_waits_zero", 0), c.get("main_waits_timeout", 0)))
    print("strace-dns-check: violations: %d at startup, %d after (resolver "
          "files, port 53, blocking DNS sockets, DNS in other threads)"
          % (c.get("violations_startup", 0), c.get("violations_run", 0)))
    for spec in o.slow:
        name, _, secs = spec.partition("=")
        summary, problem = slow_window(ck, name, float(secs or 0))
        if summary:
            print("strace-dns-check: " + summary)
        if problem:
            missing.append(problem)
    for v in ck.violations[:50]:
        print("strace-dns-check:   " + v)
    for m in missing:
        print("strace-dns-check: missing: " + m)
    if o.expect_violations:
        ok = len(ck.violations) > 0
        print("strace-dns-check: self-test %s: %d violation(s) found in a log "
              "that resolves through the system resolver"
              % ("ok" if ok else "FAILED", len(ck.violations)))
        return 0 if ok else 1
    return 0 if not ck.violations and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
