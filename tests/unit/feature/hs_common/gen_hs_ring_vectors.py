#!/usr/bin/env python3
"""gen_hs_ring_vectors.py -- independent computation (hashlib.sha3_256) of
the HSDir ring known answers used by test_hs_ring.c (rend-spec-v3 2.2.3,
2.3.1).  Prints the C literals; rerun and paste if the inputs change.

Nodes: ed25519 id of node i = SHA3-256("ring node" | i); node 3 has no
HSDir flag, node 7 no ed25519 id, node 8 only "HSDir=1": those three are
not in the ring.  SRV = SHA3-256("test srv"), blinded key = SHA3-256("test
blinded"), period 19000 of length 1440, 2 replicas."""
import hashlib


def h(*parts):
    return hashlib.sha3_256(b"".join(parts)).digest()


def i8(v):
    return v.to_bytes(8, "big")


N = 12
EXCLUDED = {3, 7, 8}
ids = [h(b"ring node", bytes([i])) for i in range(N)]
srv = h(b"test srv")
blinded = h(b"test blinded")
tp, length, replicas = 19000, 1440, 2

ring = sorted((h(b"node-idx", ids[i], srv, i8(tp), i8(length)), i)
              for i in range(N) if i not in EXCLUDED)
print("/* ring order (node numbers) */")
print("static const int ring_order[] = { %s };" % ", ".join(str(i) for _, i in ring))
print("static const char ring_first_index[] = \"%s\";" % ring[0][0].hex())


def responsible(spread):
    out = []
    for rep in range(1, replicas + 1):
        target = h(b"store-at-idx", blinded, i8(rep), i8(length), i8(tp))
        pos = next((k for k, (idx, _) in enumerate(ring) if idx >= target), 0)
        added = 0
        for step in range(len(ring)):
            node = ring[(pos + step) % len(ring)][1]
            if node in out:
                continue
            out.append(node)
            added += 1
            if added == spread:
                break
    return out


for spread in (1, 3, 4, 8):
    r = responsible(spread)
    print("static const int resp_spread%d[] = { %s };" % (spread, ", ".join(map(str, r))))
print("static const char disaster_srv_19000[] = \"%s\";"
      % h(b"shared-random-disaster", i8(length), i8(tp)).hex())
