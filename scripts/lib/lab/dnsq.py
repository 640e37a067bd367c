"""One A query straight to an authoritative server: (addresses, ttl). Standard library."""
import os
import socket
import struct


def query_a(server, name, timeout=1.0):
    host, port = server.rsplit(":", 1)
    qid = int.from_bytes(os.urandom(2), "big")
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, (host, int(port)))
        while True:
            resp = s.recv(4096)
            if len(resp) >= 12 and struct.unpack(">H", resp[:2])[0] == qid:
                break
    finally:
        s.close()
    rcode = resp[3] & 0x0F
    if rcode != 0:
        raise OSError(f"DNS rcode {rcode}")
    an = struct.unpack(">H", resp[6:8])[0]
    pos = 12
    while resp[pos] != 0:
        pos += resp[pos] + 1
    pos += 5
    out, ttl = [], None
    for _ in range(an):
        if resp[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while resp[pos] != 0:
                pos += resp[pos] + 1
            pos += 1
        rtype, _, rttl, rdlen = struct.unpack(">HHIH", resp[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            out.append(".".join(str(b) for b in resp[pos:pos + 4]))
            ttl = rttl if ttl is None else min(ttl, rttl)
        pos += rdlen
    if not out:
        raise OSError("no A record")
    return sorted(out), ttl
