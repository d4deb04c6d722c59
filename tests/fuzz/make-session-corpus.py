#!/usr/bin/env python3
# tests/fuzz/make-session-corpus.py: write the seed corpus of
# fuzz-session (tests/fuzz/corpus/fuzz-session/): well-behaved server
# streams that answer the target's whole script, one per variant, so
# the fuzzer starts from sessions that reach every command.
#
#   python3 tests/fuzz/make-session-corpus.py [DIR]
#
# Each file is the selector byte (see tests/fuzz/fuzz-session.c) and
# then everything the server sends, in the script's order.  Keep the
# two in step.  Copyright the nbdcli authors, MIT licence.

import os
import struct
import sys

SR, EH, EXPORT_NAME, ABORT, NO_SMC = 0x01, 0x02, 0x04, 0x08, 0x10

OPT_REPLY_MAGIC = 0x0003e889045565a9
OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_SR, OPT_LMC, OPT_SMC, OPT_EH = 6, 7, 8, 9, 10, 11
REP_ACK, REP_SERVER, REP_INFO, REP_META = 1, 2, 3, 4
REP_ERR_UNSUP, REP_ERR_POLICY = 0x80000001, 0x80000002
SIMPLE, STRUCTURED, EXTENDED = 0x67446698, 0x668e33ef, 0x6e8a278c
DONE = 1
T_NONE, T_DATA, T_HOLE, T_BS, T_BS_EXT, T_ERR = 0, 1, 2, 5, 6, 0x8001
TFLAGS = 0x0001 | 0x0004 | 0x0008 | 0x0020 | 0x0040 | 0x0400 | 0x0800


def rep(opt, typ, payload=b""):
    return struct.pack(">QIII", OPT_REPLY_MAGIC, opt, typ,
                       len(payload)) + payload


def info_export(opt, tflags, size=1 << 20):
    return rep(opt, REP_INFO, struct.pack(">HQH", 0, size, tflags))


def options(sel, tflags):
    """Replies to the option part of the script."""
    out = rep(OPT_LIST, REP_SERVER, struct.pack(">I", 0))
    out += rep(OPT_LIST, REP_SERVER, struct.pack(">I", 4) + b"disk" + b"a disk")
    out += rep(OPT_LIST, REP_ACK)
    out += rep(OPT_STARTTLS, REP_ERR_POLICY, b"no TLS here")
    out += rep(0x1234, REP_ERR_UNSUP)
    if sel & SR:
        out += rep(OPT_SR, REP_ACK)
    if sel & EH:
        out += rep(OPT_EH, REP_ACK)
    out += rep(OPT_LMC, REP_META, struct.pack(">I", 0) + b"base:allocation")
    out += rep(OPT_LMC, REP_ACK)
    if not sel & NO_SMC:
        out += rep(OPT_SMC, REP_META, struct.pack(">I", 1) + b"base:allocation")
        out += rep(OPT_SMC, REP_ACK)
    out += info_export(OPT_INFO, tflags)
    out += rep(OPT_INFO, REP_INFO, struct.pack(">H", 1))
    out += rep(OPT_INFO, REP_INFO, struct.pack(">H", 2) + b"a test disk")
    out += rep(OPT_INFO, REP_INFO, struct.pack(">HIII", 3, 1, 4096, 1 << 25))
    out += rep(OPT_INFO, REP_ACK)
    if sel & ABORT:
        out += rep(OPT_ABORT, REP_ERR_UNSUP, b"abort refused, for the seed")
    if sel & EXPORT_NAME:
        out += struct.pack(">QH", 1 << 20, tflags)
    else:
        out += info_export(OPT_GO, tflags)
        out += rep(OPT_GO, REP_INFO, struct.pack(">HIII", 3, 1, 4096, 1 << 25))
        out += rep(OPT_GO, REP_ACK)
    return out


def simple(cookie, err=0, data=b""):
    return struct.pack(">IIQ", SIMPLE, err, cookie) + data


def chunk(ext, flags, typ, cookie, offset, payload=b""):
    if ext:
        return struct.pack(">IHHQQQ", EXTENDED, flags, typ, cookie, offset,
                           len(payload)) + payload
    return struct.pack(">IHHQI", STRUCTURED, flags, typ, cookie,
                       len(payload)) + payload


def transmission(sel):
    """Replies to READ, READ DF, WRITE, FLUSH, TRIM, WRITE_ZEROES,
    CACHE, BLOCK_STATUS, BLOCK_STATUS REQ_ONE (cookies 1 to 9); DISC
    gets nothing: the server closes."""
    if not sel & (SR | EH):
        out = simple(1, 0, bytes(range(256)) * 2)
        out += simple(2, 0, b"\x5a" * 1024)
        for cookie in range(3, 8):
            out += simple(cookie)
        out += simple(8, 22) + simple(9, 22)  # no block status: EINVAL
        return out
    ext = bool(sel & EH)
    # Requests: (offset, length) by cookie.
    req = {1: (0, 512), 2: (4096, 1024), 3: (0, 5), 4: (0, 0), 5: (0, 4096),
           6: (0, 4096), 7: (0, 4096), 8: (0, 65536), 9: (0, 65536)}

    def ch(flags, typ, cookie, payload=b""):
        return chunk(ext, flags, typ, cookie, req[cookie][0], payload)

    out = ch(0, T_DATA, 1, struct.pack(">Q", 0) + bytes(256))
    out += ch(0, T_HOLE, 1, struct.pack(">QI", 256, 128))
    out += ch(DONE, T_DATA, 1, struct.pack(">Q", 384) + b"\x11" * 128)
    out += ch(DONE, T_DATA, 2, struct.pack(">Q", 4096) + b"\x22" * 1024)
    for cookie in range(3, 8):
        out += ch(DONE, T_NONE, cookie)
    if sel & NO_SMC:
        msg = b"no context"
        err = struct.pack(">IH", 22, len(msg)) + msg
        out += ch(DONE, T_ERR, 8, err) + ch(DONE, T_ERR, 9, err)
        return out
    if ext:
        bs = struct.pack(">II", 1, 2) + struct.pack(">QQ", 32768, 0)
        bs += struct.pack(">QQ", 32768, 3)
        bs1 = struct.pack(">II", 1, 1) + struct.pack(">QQ", 65536, 0)
        typ = T_BS_EXT
    else:
        bs = struct.pack(">I", 1) + struct.pack(">II", 32768, 0)
        bs += struct.pack(">II", 32768, 3)
        bs1 = struct.pack(">I", 1) + struct.pack(">II", 65536, 0)
        typ = T_BS
    out += ch(DONE, typ, 8, bs) + ch(DONE, typ, 9, bs1)
    return out


def greeting(hs=3):
    return b"NBDMAGIC" + b"IHAVEOPT" + struct.pack(">H", hs)


def stream(sel):
    tflags = TFLAGS | (0x0080 if sel & (SR | EH) else 0)   # SEND_DF
    return greeting() + options(sel, tflags) + transmission(sel)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "corpus", "fuzz-session")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "simple": 0,
        "structured": SR,
        "extended": EH,
        "sr-and-eh": SR | EH,
        "export-name": EXPORT_NAME,
        "export-name-sr": EXPORT_NAME | SR,
        "no-smc-sr": NO_SMC | SR,
        "abort-refused-eh": ABORT | EH,
    }
    for name, sel in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([sel]) + stream(sel))
    # Oldstyle: straight to transmission, simple replies.
    old = b"NBDMAGIC" + struct.pack(">QQI", 0x0000420281861253, 1 << 20,
                                    TFLAGS) + bytes(124)
    with open(os.path.join(out, "oldstyle"), "wb") as f:
        f.write(bytes([0]) + old + transmission(0))
    # ABORT acknowledged: the session ends there.
    ab = greeting() + rep(OPT_LIST, REP_ACK) + rep(OPT_STARTTLS, REP_ACK) \
        + rep(0x1234, REP_ERR_UNSUP) + rep(OPT_LMC, REP_ACK) \
        + rep(OPT_SMC, REP_ACK) + info_export(OPT_INFO, TFLAGS) \
        + rep(OPT_INFO, REP_ACK) + rep(OPT_ABORT, REP_ACK)
    with open(os.path.join(out, "abort-acked"), "wb") as f:
        f.write(bytes([ABORT]) + ab)


if __name__ == "__main__":
    main()
