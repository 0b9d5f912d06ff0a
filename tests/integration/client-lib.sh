# tests/integration/client-lib.sh -- shell helpers shared by the scenarios
# that drive an allium client next to a tor client (allium-client,
# allium-client-md).  Sourced, not run; the sourcing scenario sets
# LIB_NAME (its name, for messages) and runs under `set -euo pipefail`.
#
#   lib_load_nodes        AL_* (first allium client), TC_* (first tor client):
#                         _NAME _SOCKS _TUNNEL _DIR _PID _ARGV, and
#                         EXIT_PID_<exit name> for every exit
#   say MSG / fail MSG    progress line with the elapsed seconds / exit 1
#   log_secs LOG NEEDLE [FROM]   seconds from the log's first line (from line
#                         FROM on) to the first line containing NEEDLE, or n/a
#   fetch OUT URL [CURL ARGS...] download with up to 3 tries; prints
#                         "N bytes in Ts, first byte after Fs"
#   check_sha FILE SHA WHAT      fail unless FILE's SHA-256 is SHA
#   stop_pid PID WHAT     SIGTERM, wait up to 10 s, fail if it lingers or
#                         exits non-zero (only for a child of this shell)
#   check_sanitizers LOG  fail on an ASan/LSan/UBSan report in LOG

: "${LIB_NAME:=scenario}"
SECONDS=0
say() { echo "$LIB_NAME: [${SECONDS}s] $*"; }
fail() { echo "$LIB_NAME: FAIL: $*" >&2; exit 1; }

lib_load_nodes() {
  eval "$(python3 - "$TORNET_DIR/network.json" <<'PY'
import json, shlex, sys
net = json.load(open(sys.argv[1]))
def emit(prefix, n):
    print("%s_NAME=%s" % (prefix, shlex.quote(n["name"])))
    print("%s_SOCKS=%d" % (prefix, n["ports"]["socks"]))
    print("%s_TUNNEL=%d" % (prefix, n["ports"]["httptunnel"]))
    print("%s_DIR=%s" % (prefix, shlex.quote(n["datadir"])))
    print("%s_PID=%s" % (prefix, (n.get("proc") or {}).get("pid", "")))
    print("%s_ARGV=(%s)" % (prefix, " ".join(shlex.quote(a) for a in (n.get("proc") or {}).get("argv", []))))
cl = [n for n in net["nodes"] if n["role"] == "client"]
a = [n for n in cl if n["impl"] == "allium"]
t = [n for n in cl if n["impl"] == "tor"]
if a: emit("AL", a[0])
if t: emit("TC", t[0])
for n in net["nodes"]:
    if n["role"] == "exit":
        print("EXIT_PID_%s=%s" % (n["name"], (n.get("proc") or {}).get("pid", "")))
PY
)"
}

# Seconds from a log's first line to its first line matching $2 (tor's and
# allium's "Mon DD HH:MM:SS.mmm" stamps), optionally from line $3 on.
log_secs() {
  python3 - "$1" "$2" "${3:-1}" <<'PY'
import re, sys, datetime
path, needle, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(path, errors="replace").read().splitlines()[first - 1:]
def ts(l):
    m = re.match(r"(\w{3} +\d+ \d\d:\d\d:\d\d\.\d+)", l)
    return datetime.datetime.strptime("2000 " + m.group(1), "%Y %b %d %H:%M:%S.%f") if m else None
start = next((ts(l) for l in lines if ts(l)), None)
end = next((ts(l) for l in lines if needle in l and ts(l)), None)
print("%.1f" % (end - start).total_seconds() if start and end else "n/a")
PY
}

# fetch OUT URL [curl args...]: up to 3 tries.
fetch() {
  local out=$1 url=$2; shift 2
  for try in 1 2 3; do
    if curl -sS --fail --max-time 120 "$@" -o "$out" \
         -w "%{size_download} bytes in %{time_total}s, first byte after %{time_starttransfer}s\n" \
         "$url"; then return 0; fi
    echo "$LIB_NAME: fetch of $url attempt $try failed; retrying" >&2; sleep 2
  done
  return 1
}

check_sha() {
  local got; got=$(sha256sum < "$1" | cut -d' ' -f1)
  [[ $got == "$2" ]] || fail "$3: sha256 $got != $2"
}

# MB/s (10^6 bytes) from curl's "N bytes in Ts" line.
throughput() {
  python3 -c 'import re,sys; m=re.match(r"(\d+) bytes in ([0-9.]+)s", sys.argv[1]); print("%.2f MB/s" % (int(m.group(1))/float(m.group(2))/1e6) if m and float(m.group(2)) > 0 else "n/a")' "$1"
}

stop_pid() {
  local pid=$1 what=$2 rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$pid" 2>/dev/null || fail "$what did not exit on SIGTERM"
  wait "$pid" || rc=$?
  [[ $rc -eq 0 ]] || fail "$what exited with status $rc on SIGTERM"
}

check_sanitizers() {
  if grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; then
    grep -E -m5 -A5 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1" >&2
    fail "sanitizer reports in $1"
  fi
}

# al_restart: stop the allium client (AL_PID), start it again on the same
# torrc and DataDirectory as a child of this shell and wait up to 60 s for
# "Bootstrapped 100%".  Sets RESTARTED_PID (also AL_PID), WARM_SECS, and
# NOTICE_FROM / INFO_FROM, the first log lines written by the new process.
# The restarted process must see a live cached consensus: no consensus
# request.  The caller's EXIT trap should stop RESTARTED_PID.
al_restart() {
  kill -TERM "$AL_PID"
  for _ in $(seq 100); do kill -0 "$AL_PID" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$AL_PID" 2>/dev/null || fail "allium did not exit on SIGTERM"
  NOTICE_FROM=$(($(wc -l < "$AL_DIR/notice.log") + 1))
  INFO_FROM=$(($(wc -l < "$AL_DIR/info.log") + 1))
  ( cd "$AL_DIR" && exec "${AL_ARGV[@]}" >>"$AL_DIR/stdout.log" 2>&1 </dev/null ) &
  RESTARTED_PID=$!
  for _ in $(seq 600); do
    tail -n +"$NOTICE_FROM" "$AL_DIR/notice.log" | grep -q "Bootstrapped 100%" && break
    kill -0 "$RESTARTED_PID" 2>/dev/null || fail "restarted allium died"
    sleep 0.1
  done
  WARM_SECS=$(log_secs "$AL_DIR/notice.log" "Bootstrapped 100%" "$NOTICE_FROM")
  [[ $WARM_SECS != n/a ]] || fail "restarted allium did not bootstrap within 60 s"
  tail -n +"$NOTICE_FROM" "$AL_DIR/notice.log" | grep -q "Loaded a live consensus from the cache" \
    || fail "restart did not use the cached consensus"
  if tail -n +"$NOTICE_FROM" "$AL_DIR/notice.log" | grep -q "Asking for networkstatus consensus"; then
    fail "restart with a live cached consensus still asked for a consensus"
  fi
  AL_PID=$RESTARTED_PID
}
