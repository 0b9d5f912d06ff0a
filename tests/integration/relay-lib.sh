# tests/integration/relay-lib.sh -- shell helpers shared by the scenarios
# that put allium relays into a tor network (allium-relay,
# allium-relay-guard-dir, allium-relay-hostile).  Sourced after
# client-lib.sh (say, fail, fetch, check_sha); the sourcing scenario runs
# under `set -euo pipefail`.
#
#   relay_load_nodes      AR_NAMES/AR_FPS (allium relays), TR_NAMES/TR_FPS
#                         (tor relays of role relay), EXIT_NAMES/EXIT_FPS,
#                         AUTH_DIRS (arrays); TC_CONTROL, TC_COOKIE for the
#                         first tor client; node_dir NAME, node_or NAME
#   consensus_flags FP    flags of FP in the newest consensus any authority
#                         holds ("" if not listed)
#   desc_field FP KEYWORD the first KEYWORD line of FP's newest descriptor at
#                         an authority (without the keyword)
#   tor_circ_path USER    comma-separated fingerprints of the tor client's
#                         BUILT circuit for SOCKS username USER
#   relay_log NAME        "see DIR/nodes/NAME/notice.log" for messages
#   check_relays_alive    fail if an allium relay died (with its log)

relay_load_nodes() {
  eval "$(python3 - "$TORNET_DIR/network.json" <<'PY'
import json, shlex, sys
net = json.load(open(sys.argv[1]))
def arr(name, vals):
    print("%s=(%s)" % (name, " ".join(shlex.quote(v) for v in vals)))
nodes = net["nodes"]
ar = [n for n in nodes if n["role"] == "relay" and n["impl"] == "allium"]
tr = [n for n in nodes if n["role"] == "relay" and n["impl"] == "tor"]
ex = [n for n in nodes if n["role"] == "exit"]
arr("AR_NAMES", [n["name"] for n in ar]); arr("AR_FPS", [n["fingerprint"] for n in ar])
arr("TR_NAMES", [n["name"] for n in tr]); arr("TR_FPS", [n["fingerprint"] for n in tr])
arr("EXIT_NAMES", [n["name"] for n in ex]); arr("EXIT_FPS", [n["fingerprint"] for n in ex])
arr("AUTH_DIRS", [n["datadir"] for n in nodes if n["role"] == "authority"])
tc = [n for n in nodes if n["role"] == "client" and n["impl"] == "tor"]
if tc:
    print("TC_CONTROL=%d" % tc[0]["ports"]["control"])
    print("TC_COOKIE=%s" % shlex.quote(tc[0]["datadir"] + "/control_auth_cookie"))
PY
)"
}

node_dir() { echo "$TORNET_DIR/nodes/$1"; }
node_or() { python3 -c 'import json,sys; print([n for n in json.load(open(sys.argv[1]))["nodes"] if n["name"] == sys.argv[2]][0]["ports"]["or"])' "$TORNET_DIR/network.json" "$1"; }
relay_log() { echo "see $(node_dir "$1")/notice.log"; }

consensus_flags() {
  python3 - "$1" "${AUTH_DIRS[@]}" <<'PY'
import base64, re, sys
fp, dirs = sys.argv[1], sys.argv[2:]
best = None
for d in dirs:
    try:
        text = open(d + "/cached-consensus").read()
    except OSError:
        continue
    m = re.search(r"^valid-after (.+)$", text, re.M)
    if m and (best is None or m.group(1) > best[0]):
        best = (m.group(1), text)
flags = ""
if best:
    cur = None
    for line in best[1].splitlines():
        if line.startswith("r "):
            p = line.split()
            cur = base64.b64decode(p[2] + "=" * (-len(p[2]) % 4)).hex().upper()
        elif line.startswith("s ") and cur == fp:
            flags = line[2:]
            break
print(flags)
PY
}

desc_field() {
  python3 - "$1" "$2" "${AUTH_DIRS[@]}" <<'PY'
import sys
fp, kw, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
spaced = " ".join(fp[i:i + 4] for i in range(0, 40, 4))
found = ""
for d in dirs:
    for name in ("cached-descriptors", "cached-descriptors.new"):
        try:
            text = open(d + "/" + name, errors="replace").read()
        except OSError:
            continue
        for desc in text.split("\nrouter ")[0:]:
            if "fingerprint " + spaced in desc:
                for line in desc.splitlines():
                    if line.startswith(kw + " "):
                        found = line[len(kw) + 1:]
                        break
print(found)
PY
}

tor_circ_path() {
  "$TORNET" ctl "$TC_NAME" GETINFO circuit-status | python3 -c '
import sys
user = sys.argv[1]
for line in sys.stdin:
    p = line.split()
    if len(p) > 2 and p[1] == "BUILT" and ("SOCKS_USERNAME=\"%s\"" % user) in line:
        print(",".join(h.lstrip("$").split("~")[0].split("=")[0] for h in p[2].split(",")))
        break
' "$1"
}

check_relays_alive() {
  local i pidvar
  for i in "${!AR_NAMES[@]}"; do
    pidvar="TORNET_$(echo "${AR_NAMES[$i]}" | tr '[:lower:]' '[:upper:]')_PID"
    if ! kill -0 "${!pidvar}" 2>/dev/null; then
      tail -n 20 "$(node_dir "${AR_NAMES[$i]}")/notice.log" >&2 || true
      fail "allium relay ${AR_NAMES[$i]} died ($(relay_log "${AR_NAMES[$i]}"))"
    fi
  done
}
