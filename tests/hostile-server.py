#!/usr/bin/env python3
# tests/hostile-server.py: a byte-level scripted NBD server for
# tests/test-hostile.sh.
#
#   tests/hostile-server.py SCENARIO SOCKET-PATH
#   tests/hostile-server.py --list
#
# Listens on the Unix socket SOCKET-PATH.  The first connection gets
# SCENARIO: a script of raw bytes, most of them things no real server
# sends (truncated or wrong magics, absurd lengths, endless or dripped
# streams, stalls, TLS alerts, ...).  Every later connection gets a
# small well-behaved server (LIST, ABORT, NBD_OPT_GO, READ, DISC) so a
# test can check that nbdcli still works afterwards (`reconnect').
#
# The server never lingers: it exits after 30 s without a connection,
# and a scenario that waits for the client gives up after 30 s too.
# Python 3 standard library only.

import os
import signal
import socket
import struct
import sys
import time

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
OLDSTYLE = 0x0000420281861253
OPT_REPLY_MAGIC = 0x0003E889045565A9
REQUEST_MAGIC = 0x25609513
EXT_REQUEST_MAGIC = 0x21E41C71
SIMPLE_MAGIC = 0x67446698
STRUCTURED_MAGIC = 0x668E33EF
EXTENDED_MAGIC = 0x6E8A278C

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_SR, OPT_LIST_META, OPT_SET_META, OPT_EH = \
    6, 7, 8, 9, 10, 11

REP_ACK, REP_SERVER, REP_INFO, REP_META = 1, 2, 3, 4
REP_ERR_UNSUP = 0x80000001

INFO_EXPORT, INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE = 0, 1, 2, 3

CMD_READ, CMD_WRITE, CMD_DISC, CMD_BLOCK_STATUS = 0, 1, 2, 7

CHUNK_NONE, CHUNK_DATA, CHUNK_HOLE = 0, 1, 2
CHUNK_BLOCK_STATUS, CHUNK_BLOCK_STATUS_EXT = 5, 6
CHUNK_ERROR, CHUNK_ERROR_OFFSET = 0x8001, 0x8002
FLAG_DONE = 1
CMD_FLAG_PAYLOAD_LEN = 1 << 5

# Handshake flags FIXED_NEWSTYLE | NO_ZEROES; transmission flags
# HAS_FLAGS | SEND_FLUSH.
HS_FLAGS = 0x0003
HS_FIXED_NEWSTYLE = 0x0001
TFLAGS = 0x0005
TFLAG_SEND_DF = 1 << 7
EXPORT_SIZE = 1 << 20

WAIT = 30                       # the longest the server waits for anything


class Done(Exception):
    """The client went away: the scenario ends."""


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.s.settimeout(WAIT)

    # ------------------------------------------------------------ bytes

    def send(self, b):
        try:
            self.s.sendall(b)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            raise Done()

    def drip(self, b, delay):
        """Sends B one byte at a time, DELAY seconds apart."""
        for i in range(len(b)):
            self.send(b[i:i + 1])
            time.sleep(delay)

    def recv(self, n):
        buf = b""
        while len(buf) < n:
            try:
                r = self.s.recv(n - len(buf))
            except (ConnectionResetError, socket.timeout):
                raise Done()
            if not r:
                raise Done()
            buf += r
        return buf

    def hang(self):
        """Sends nothing and reads until the client closes (or WAIT)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                if not self.s.recv(4096):
                    return
            except (ConnectionResetError, socket.timeout):
                return

    def close(self):
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()

    # ------------------------------------------------------------ messages

    def greeting(self, hs_flags=HS_FLAGS):
        self.send(struct.pack(">QQH", NBDMAGIC, IHAVEOPT, hs_flags))

    def handshake(self, hs_flags=HS_FLAGS):
        """Greeting and the client's flags."""
        self.greeting(hs_flags)
        self.recv(4)

    def read_option(self):
        magic, opt, length = struct.unpack(">QII", self.recv(16))
        if magic != IHAVEOPT:
            raise Done()
        data = self.recv(length) if length else b""
        return opt, data

    def reply(self, opt, rtype, payload=b"", length=None,
              magic=OPT_REPLY_MAGIC):
        if length is None:
            length = len(payload)
        self.send(struct.pack(">QIII", magic, opt, rtype, length) + payload)

    def read_request(self):
        """A compact request, or an extended one (32 bytes, a 64-bit
        length, a payload only with PAYLOAD_LEN)."""
        magic, = struct.unpack(">I", self.recv(4))
        if magic == REQUEST_MAGIC:
            flags, rtype, cookie, offset, length = \
                struct.unpack(">HHQQI", self.recv(24))
            if rtype == CMD_WRITE:
                self.recv(length)
        elif magic == EXT_REQUEST_MAGIC:
            flags, rtype, cookie, offset, length = \
                struct.unpack(">HHQQQ", self.recv(28))
            if flags & CMD_FLAG_PAYLOAD_LEN:
                self.recv(length)
        else:
            raise Done()
        return rtype, flags, cookie, offset, length

    def simple(self, cookie, error=0, data=b"", magic=SIMPLE_MAGIC):
        self.send(struct.pack(">IIQ", magic, error, cookie) + data)

    def chunk(self, cookie, ctype, payload=b"", flags=FLAG_DONE,
              length=None, magic=STRUCTURED_MAGIC):
        if length is None:
            length = len(payload)
        self.send(struct.pack(">IHHQI", magic, flags, ctype, cookie, length)
                  + payload)

    def ext_chunk(self, cookie, ctype, offset, payload=b"", flags=FLAG_DONE,
                  length=None, magic=EXTENDED_MAGIC):
        """An extended reply chunk: the 32-byte header echoes OFFSET."""
        if length is None:
            length = len(payload)
        self.send(struct.pack(">IHHQQQ", magic, flags, ctype, cookie, offset,
                              length) + payload)

    # ------------------------------------------------------------ a good
    # option phase, for scenarios about transmission

    def negotiate(self, eh=False, tflags=TFLAGS, min_block=None):
        """Answers options like a correct server until GO succeeds:
        SR and SET_META (base:allocation, id 1) are acked, and EH too
        with EH; GO's NBD_INFO_EXPORT carries TFLAGS, and with MIN_BLOCK
        an NBD_INFO_BLOCK_SIZE (MIN_BLOCK, 4096, 32 MiB) follows."""
        self.handshake()
        while True:
            opt, data = self.read_option()
            if opt == OPT_GO:
                self.reply(opt, REP_INFO,
                           struct.pack(">HQH", INFO_EXPORT, EXPORT_SIZE,
                                       tflags))
                if min_block:
                    self.reply(opt, REP_INFO,
                               struct.pack(">HIII", INFO_BLOCK_SIZE,
                                           min_block, 4096, 1 << 25))
                self.reply(opt, REP_ACK)
                return
            if opt == OPT_SR or (opt == OPT_EH and eh):
                self.reply(opt, REP_ACK)
            elif opt == OPT_SET_META:
                name = b"base:allocation"
                self.reply(opt, REP_META, struct.pack(">I", 1) + name)
                self.reply(opt, REP_ACK)
            elif opt == OPT_ABORT:
                self.reply(opt, REP_ACK)
                raise Done()
            else:
                self.reply(opt, REP_ERR_UNSUP)


def info_export():
    return struct.pack(">HQH", INFO_EXPORT, EXPORT_SIZE, TFLAGS)


def rep_server(name, desc=b""):
    return struct.pack(">I", len(name)) + name + desc


# ---------------------------------------------------------------- the
# well-behaved server of the second and later connections

def good(c):
    c.handshake()
    while True:
        opt, data = c.read_option()
        if opt == OPT_LIST:
            c.reply(opt, REP_SERVER, rep_server(b"good"))
            c.reply(opt, REP_ACK)
        elif opt == OPT_ABORT:
            c.reply(opt, REP_ACK)
            return
        elif opt in (OPT_GO, OPT_INFO):
            c.reply(opt, REP_INFO, info_export())
            c.reply(opt, REP_ACK)
            if opt == OPT_GO:
                break
        else:
            c.reply(opt, REP_ERR_UNSUP)
    while True:
        rtype, flags, cookie, offset, length = c.read_request()
        if rtype == CMD_DISC:
            return
        if rtype == CMD_READ:
            c.simple(cookie, 0, bytes(length))
        else:
            c.simple(cookie, 0)


# ---------------------------------------------------------------- scenarios
# Each takes the connection; the docstring is the one-line summary that
# --list prints.

SCENARIOS = {}


def scenario(f):
    SCENARIOS[f.__name__.replace("_", "-")] = f
    return f


# Greeting.

@scenario
def greeting_empty(c):
    """closes at once, before any byte"""


@scenario
def greeting_truncated(c):
    """10 bytes of the 18-byte greeting, then close"""
    c.send(struct.pack(">QQH", NBDMAGIC, IHAVEOPT, HS_FLAGS)[:10])


@scenario
def greeting_bad_nbdmagic(c):
    """an HTTP answer instead of NBDMAGIC"""
    c.send(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    c.hang()


@scenario
def greeting_bad_second_magic(c):
    """NBDMAGIC then neither IHAVEOPT nor the oldstyle magic"""
    c.send(struct.pack(">QQH", NBDMAGIC, 0x0123456789ABCDEF, HS_FLAGS))
    c.hang()


@scenario
def greeting_oldstyle_truncated(c):
    """oldstyle magic and 20 of the 136 following bytes, then close"""
    c.send(struct.pack(">QQ", NBDMAGIC, OLDSTYLE) + bytes(20))


@scenario
def greeting_oldstyle_flags(c):
    """an oldstyle greeting whose 32-bit flags set bit 16 (0x00010005)"""
    c.send(struct.pack(">QQQI", NBDMAGIC, OLDSTYLE, EXPORT_SIZE,
                       0x00010000 | TFLAGS) + bytes(124))
    c.hang()


@scenario
def greeting_stall(c):
    """accepts and sends nothing"""
    c.hang()


@scenario
def greeting_drip(c):
    """the greeting one byte every 0.3 s (5.4 s in all)"""
    c.drip(struct.pack(">QQH", NBDMAGIC, IHAVEOPT, HS_FLAGS), 0.3)
    c.hang()


# Option replies.

@scenario
def opt_stall(c):
    """a good greeting, then no reply to the option"""
    c.handshake()
    c.hang()


@scenario
def opt_late(c):
    """the ACK to the first option 1.5 s late, then every option answered"""
    c.handshake()
    opt, _ = c.read_option()
    time.sleep(1.5)
    c.reply(opt, REP_ACK)
    while True:
        opt, _ = c.read_option()
        c.reply(opt, REP_ACK)
        if opt == OPT_ABORT:
            return


@scenario
def opt_close_mid_header(c):
    """7 bytes of an option reply header, then close"""
    c.handshake()
    opt, _ = c.read_option()
    c.send(struct.pack(">QIII", OPT_REPLY_MAGIC, opt, REP_SERVER, 8)[:7])


@scenario
def opt_close_mid_payload(c):
    """a reply declaring 100 bytes sends 10, then close"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_SERVER, rep_server(b"abcdef"), length=100)


@scenario
def opt_reply_bad_magic(c):
    """an option reply with a wrong magic"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_ACK, magic=0x1122334455667788)
    c.hang()


def huge_len(c, length):
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_SERVER, rep_server(b"x"), length=length)
    # Then as many bytes as the client will take, as a server that
    # meant it would.
    block = b"\xAA" * 65536
    for _ in range(64):
        c.send(block)
    c.hang()


@scenario
def opt_len_ffffffff(c):
    """REP_SERVER declaring 0xFFFFFFFF bytes"""
    huge_len(c, 0xFFFFFFFF)


@scenario
def opt_len_80000000(c):
    """REP_SERVER declaring 0x80000000 bytes"""
    huge_len(c, 0x80000000)


@scenario
def opt_len_1m_plus_1(c):
    """REP_SERVER declaring 1 MiB + 1 bytes"""
    huge_len(c, 0x100001)


@scenario
def opt_len_1m(c):
    """REP_SERVER of exactly 1 MiB (a valid name, a long description)"""
    c.handshake()
    opt, _ = c.read_option()
    name = b"big"
    c.reply(opt, REP_SERVER, rep_server(name, b"d" * ((1 << 20) - 4 - 3)))
    c.reply(opt, REP_ACK)
    c.hang()


def info_reply(c, payload):
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_INFO, payload)
    c.reply(opt, REP_INFO, info_export())
    c.reply(opt, REP_ACK)
    c.hang()


@scenario
def info_export_short(c):
    """NBD_INFO_EXPORT of 10 bytes instead of 12"""
    info_reply(c, struct.pack(">HQ", INFO_EXPORT, EXPORT_SIZE))


@scenario
def info_export_long(c):
    """NBD_INFO_EXPORT of 20 bytes instead of 12"""
    info_reply(c, info_export() + bytes(8))


@scenario
def info_block_size_short(c):
    """NBD_INFO_BLOCK_SIZE of 6 bytes instead of 14"""
    info_reply(c, struct.pack(">HI", INFO_BLOCK_SIZE, 512))


@scenario
def info_block_size_long(c):
    """NBD_INFO_BLOCK_SIZE of 30 bytes instead of 14"""
    info_reply(c, struct.pack(">HIII", INFO_BLOCK_SIZE, 512, 4096, 1 << 20)
               + bytes(16))


@scenario
def info_empty(c):
    """NBD_REP_INFO with no payload at all (not even the info type)"""
    info_reply(c, b"")


@scenario
def info_no_export(c):
    """NBD_REP_ACK to NBD_OPT_INFO without any NBD_INFO_EXPORT"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_ACK)
    c.hang()


@scenario
def server_name_nul(c):
    """NBD_REP_SERVER names with NUL bytes"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_SERVER, rep_server(b"ab\x00cd"))
    c.reply(opt, REP_SERVER, rep_server(b"\x00"))
    c.reply(opt, REP_ACK)
    c.hang()


@scenario
def server_desc_nul(c):
    """NBD_REP_SERVER whose description holds a NUL byte"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_SERVER, rep_server(b"disk", b"de\x00sc"))
    c.reply(opt, REP_ACK)
    c.hang()


@scenario
def server_name_bad_utf8(c):
    """NBD_REP_SERVER names that are not UTF-8 (and terminal escapes)"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_SERVER, rep_server(b"\xff\xfe"))
    c.reply(opt, REP_SERVER, rep_server(b"ov\xc0\xafer"))          # overlong
    c.reply(opt, REP_SERVER, rep_server(b"sur\xed\xa0\x80"))       # surrogate
    c.reply(opt, REP_SERVER, rep_server(b"cut\xe2\x82"))           # truncated
    c.reply(opt, REP_SERVER, rep_server(b"esc\x1b]0;pwned\x07\x1b[2J"))
    c.reply(opt, REP_ACK)
    c.hang()


@scenario
def server_name_len_past(c):
    """NBD_REP_SERVER whose name length runs past the reply"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_SERVER, struct.pack(">I", 0xFFFFFFF0) + b"abcdef")
    c.reply(opt, REP_ACK)
    c.hang()


@scenario
def reply_echo_wrong(c):
    """replies that echo an option that was never sent (42)"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(42, REP_SERVER, rep_server(b"x"))
    c.reply(42, REP_ACK)
    c.hang()


@scenario
def unsolicited_garbage(c):
    """20 bytes of junk, unasked, right after the handshake"""
    c.handshake()
    c.send(b"\xEE" * 20)
    c.hang()


@scenario
def server_endless(c):
    """an endless stream of NBD_REP_SERVER, as fast as it goes"""
    c.handshake()
    opt, _ = c.read_option()
    one = struct.pack(">QIII", OPT_REPLY_MAGIC, opt, REP_SERVER, 5) + \
        rep_server(b"e")
    block = one * 2048
    while True:
        c.send(block)


@scenario
def server_endless_drip(c):
    """an endless stream of NBD_REP_SERVER, one byte every 10 ms"""
    c.handshake()
    opt, _ = c.read_option()
    one = struct.pack(">QIII", OPT_REPLY_MAGIC, opt, REP_SERVER, 5) + \
        rep_server(b"e")
    while True:
        c.drip(one, 0.01)


@scenario
def meta_short(c):
    """NBD_REP_META_CONTEXT of 2 bytes (shorter than its context id)"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_META, b"\x00\x01")
    c.reply(opt, REP_ACK)
    c.hang()


@scenario
def ack_payload(c):
    """NBD_REP_ACK carrying 64 KiB of payload"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_ACK, b"\x00" * 65536)
    c.hang()


# STARTTLS.

@scenario
def starttls_alert(c):
    """ACK to STARTTLS, then a raw TLS alert (handshake_failure)"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_ACK)
    c.send(bytes.fromhex("15030300020228"))
    c.hang()


@scenario
def starttls_plaintext(c):
    """ACK to STARTTLS, then a plaintext option reply where TLS should be"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_ACK)
    c.reply(opt, REP_SERVER, rep_server(b"plain"))
    c.reply(opt, REP_ACK)
    c.hang()


@scenario
def starttls_close(c):
    """ACK to STARTTLS, then close"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_ACK)


@scenario
def starttls_stall(c):
    """ACK to STARTTLS, then nothing (the handshake must time out)"""
    c.handshake()
    opt, _ = c.read_option()
    c.reply(opt, REP_ACK)
    c.hang()


# NBD_OPT_EXPORT_NAME.

@scenario
def export_name_short(c):
    """EXPORT_NAME answered with 5 bytes, then close"""
    c.handshake()
    c.read_option()
    c.send(struct.pack(">QH", EXPORT_SIZE, TFLAGS)[:5])


@scenario
def export_name_padding(c):
    """no NO_ZEROES; the EXPORT_NAME reply's 124-byte padding holds 0x5a"""
    c.handshake(HS_FIXED_NEWSTYLE)
    c.read_option()
    c.send(struct.pack(">QH", EXPORT_SIZE, TFLAGS)
           + bytes(60) + b"\x5a" + bytes(63))
    c.hang()


# Transmission.

def xmit(c, **negotiate_args):
    """Negotiates, then returns the first request."""
    c.negotiate(**negotiate_args)
    return c.read_request()


@scenario
def simple_bad_magic(c):
    """a simple reply with a wrong magic"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.simple(cookie, 0, bytes(length), magic=0xDEADBEEF)
    c.hang()


@scenario
def simple_close_mid_data(c):
    """a simple reply to READ with half the data, then close"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.simple(cookie, 0, bytes(length // 2))


@scenario
def chunk_unknown_type(c):
    """a structured chunk of unknown type 0x7777 (DONE)"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, 0x7777, b"what?")
    c.hang()


@scenario
def chunk_error_msg_past(c):
    """an ERROR chunk whose message length runs past the chunk"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_ERROR, struct.pack(">IH", 5, 100) + b"abc")
    c.hang()


@scenario
def chunk_huge_data(c):
    """an OFFSET_DATA chunk declaring 0xFFFFFFF0 bytes"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_DATA, struct.pack(">Q", offset) + bytes(64),
            length=0xFFFFFFF0)
    c.hang()


@scenario
def chunk_huge_error(c):
    """an ERROR chunk declaring 0xFFFFFFF0 bytes"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_ERROR, struct.pack(">IH", 5, 0), length=0xFFFFFFF0)
    c.hang()


@scenario
def chunk_len_past_reply(c):
    """a BLOCK_STATUS chunk declaring 100 bytes sends 12, then close"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_BLOCK_STATUS,
            struct.pack(">III", 1, length, 0), length=100)


@scenario
def chunk_data_past_request(c):
    """OFFSET_DATA beyond the requested range (request 0+512, data at 4096)"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_DATA, struct.pack(">Q", offset + 4096)
            + b"\xAB" * length)
    c.hang()


@scenario
def chunk_data_longer(c):
    """OFFSET_DATA longer than the request (64 KiB for a 512-byte read)"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_DATA, struct.pack(">Q", offset) + b"\xCD" * 65536)
    c.hang()


@scenario
def hole_huge(c):
    """an OFFSET_HOLE of 0xFFFFFFFF bytes for a 512-byte read"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_HOLE, struct.pack(">QI", offset, 0xFFFFFFFF))
    c.hang()


@scenario
def data_far_away(c):
    """OFFSET_DATA at offset 4 MiB for a 512-byte read at 0"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_DATA, struct.pack(">Q", 4 << 20) + b"\xEF" * 16)
    c.hang()


@scenario
def block_status_no_extents(c):
    """a BLOCK_STATUS chunk with a context id and no extent"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_BLOCK_STATUS, struct.pack(">I", 1))
    c.hang()


@scenario
def block_status_endless(c):
    """endless BLOCK_STATUS chunks for context 1, never DONE"""
    rtype, flags, cookie, offset, length = xmit(c)
    one = struct.pack(">IHHQI", STRUCTURED_MAGIC, 0, CHUNK_BLOCK_STATUS,
                      cookie, 12) + struct.pack(">III", 1, length, 0)
    block = one * 1024
    while True:
        c.send(block)


@scenario
def hole_endless(c):
    """endless 1-byte OFFSET_HOLE chunks, each at a new offset, never DONE"""
    rtype, flags, cookie, offset, length = xmit(c)
    i = 0
    while True:
        block = b"".join(
            struct.pack(">IHHQIQI", STRUCTURED_MAGIC, 0, CHUNK_HOLE, cookie,
                        12, offset + ((i + k) % length), 1)
            for k in range(1024))
        i += 1024
        c.send(block)


@scenario
def extended_not_negotiated(c):
    """an extended reply magic when extended headers were not negotiated"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.ext_chunk(cookie, CHUNK_NONE, offset)
    c.hang()


@scenario
def simple_to_read_with_sr(c):
    """a simple reply to READ although structured replies were negotiated"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.simple(cookie, 0, bytes(length))
    c.hang()


@scenario
def chunk_flags_unknown(c):
    """an OFFSET_DATA chunk whose flags are 0x0003 (DONE and bit 1)"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_DATA, struct.pack(">Q", offset) + bytes(length),
            flags=FLAG_DONE | 2)
    c.hang()


@scenario
def chunk_for_flush(c):
    """a BLOCK_STATUS chunk (context 1, one extent) in reply to FLUSH"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_BLOCK_STATUS, struct.pack(">III", 1, 4096, 0))
    c.hang()


@scenario
def hole_with_df(c):
    """SEND_DF advertised; an OFFSET_HOLE chunk for a READ with DF"""
    rtype, flags, cookie, offset, length = xmit(c, tflags=TFLAGS
                                                | TFLAG_SEND_DF)
    c.chunk(cookie, CHUNK_HOLE, struct.pack(">QI", offset, length))
    c.hang()


@scenario
def read_half(c):
    """one OFFSET_DATA chunk (DONE) for the first half of the read only"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_DATA, struct.pack(">Q", offset)
            + bytes(length // 2))
    c.hang()


@scenario
def error_zero(c):
    """an ERROR chunk (DONE) whose error value is 0"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_ERROR, struct.pack(">IH", 0, 0))
    c.hang()


@scenario
def block_status_none(c):
    """BLOCK_STATUS answered with a NONE chunk only: context 1 missing"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_NONE)
    c.hang()


@scenario
def block_status_ext_compact(c):
    """a BLOCK_STATUS_EXT chunk (type 6) without extended headers"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.chunk(cookie, CHUNK_BLOCK_STATUS_EXT,
            struct.pack(">IIQQ", 1, 1, length, 0))
    c.hang()


@scenario
def block_status_req_one_two(c):
    """two extents for a BLOCK_STATUS with REQ_ONE"""
    rtype, flags, cookie, offset, length = xmit(c)
    half = length // 2
    c.chunk(cookie, CHUNK_BLOCK_STATUS,
            struct.pack(">IIIII", 1, half, 0, length - half, 1))
    c.hang()


# Transmission with extended headers.

@scenario
def eh_offset_wrong(c):
    """EH; an extended OFFSET_DATA chunk echoing offset + 4096"""
    rtype, flags, cookie, offset, length = xmit(c, eh=True)
    c.ext_chunk(cookie, CHUNK_DATA, offset + 4096,
                struct.pack(">Q", offset) + bytes(length))
    c.hang()


@scenario
def eh_structured_reply(c):
    """EH; a compact structured OFFSET_DATA chunk instead of an extended one"""
    rtype, flags, cookie, offset, length = xmit(c, eh=True)
    c.chunk(cookie, CHUNK_DATA, struct.pack(">Q", offset) + bytes(length))
    c.hang()


@scenario
def eh_simple_reply(c):
    """EH; a simple reply (to FLUSH) instead of an extended one"""
    rtype, flags, cookie, offset, length = xmit(c, eh=True)
    c.simple(cookie, 0)
    c.hang()


@scenario
def eh_block_status_compact(c):
    """EH; a compact BLOCK_STATUS chunk (type 5) in an extended reply"""
    rtype, flags, cookie, offset, length = xmit(c, eh=True)
    c.ext_chunk(cookie, CHUNK_BLOCK_STATUS, offset,
                struct.pack(">III", 1, length, 0))
    c.hang()


@scenario
def eh_block_status_high_bits(c):
    """EH; BLOCK_STATUS_EXT for base:allocation with status bit 32 set"""
    rtype, flags, cookie, offset, length = xmit(c, eh=True)
    c.ext_chunk(cookie, CHUNK_BLOCK_STATUS_EXT, offset,
                struct.pack(">IIQQ", 1, 1, length, 1 << 32))
    c.hang()


@scenario
def eh_block_status_unasked(c):
    """EH; the block-status payload names context 2, the reply is for 1"""
    rtype, flags, cookie, offset, length = xmit(c, eh=True)
    c.ext_chunk(cookie, CHUNK_BLOCK_STATUS_EXT, offset,
                struct.pack(">IIQQ", 1, 1, 65536, 0))
    c.hang()


@scenario
def block_status_unaligned(c):
    """minimum block 512; a 1000-byte extent, then the rest"""
    rtype, flags, cookie, offset, length = xmit(c, min_block=512)
    c.chunk(cookie, CHUNK_BLOCK_STATUS,
            struct.pack(">IIIII", 1, 1000, 0, length - 1000, 3))
    c.hang()


@scenario
def block_status_too_many(c):
    """one block status chunk of 2^20 + 1 one-byte extents (8 MiB)"""
    rtype, flags, cookie, offset, length = xmit(c)
    n = (1 << 20) + 1
    c.chunk(cookie, CHUNK_BLOCK_STATUS,
            struct.pack(">I", 1) + struct.pack(">II", 1, 0) * n)
    c.hang()


@scenario
def reply_to_disc(c):
    """a simple reply to NBD_CMD_DISC"""
    rtype, flags, cookie, offset, length = xmit(c)
    while rtype != CMD_DISC:
        c.simple(cookie, 0, bytes(length) if rtype == CMD_READ else b"")
        rtype, flags, cookie, offset, length = c.read_request()
    c.simple(cookie, 0)
    c.hang()


@scenario
def xmit_stall(c):
    """no reply to the first request"""
    xmit(c)
    c.hang()


@scenario
def xmit_drip(c):
    """a simple reply to READ dripped one byte every 0.2 s"""
    rtype, flags, cookie, offset, length = xmit(c)
    c.drip(struct.pack(">IIQ", SIMPLE_MAGIC, 0, cookie) + bytes(length), 0.2)
    c.hang()


# ---------------------------------------------------------------- main

# Several requests in flight (issue 14): each scenario reads two READ
# requests (`read 0 512 &; read 512 512 &; wait'), then answers them in
# a way only pipelining shows.

def two_reads(c, **negotiate_args):
    c.negotiate(**negotiate_args)
    return c.read_request(), c.read_request()


def data_chunk(cookie, offset, data, flags=FLAG_DONE):
    return struct.pack(">IHHQI", STRUCTURED_MAGIC, flags, CHUNK_DATA,
                       cookie, 8 + len(data)) + struct.pack(">Q", offset) + data


@scenario
def xmit_out_of_order(c):
    """two reads answered in reverse order (allowed: a note, no flag)"""
    a, b = two_reads(c)
    c.send(data_chunk(b[2], b[3], b"\x22" * b[4]))
    c.send(data_chunk(a[2], a[3], b"\x11" * a[4]))
    c.hang()


@scenario
def xmit_cookie_never_sent(c):
    """a reply for cookie 0x99999999, never sent, between two good ones"""
    a, b = two_reads(c)
    c.send(data_chunk(a[2], a[3], b"\x11" * a[4]))
    c.send(data_chunk(0x99999999, a[3], b"\xEE" * a[4]))
    c.send(data_chunk(b[2], b[3], b"\x22" * b[4]))
    c.hang()


@scenario
def xmit_duplicate_final(c):
    """the first read's final chunk twice, then the second read's reply"""
    a, b = two_reads(c)
    c.send(data_chunk(a[2], a[3], b"\x11" * a[4]))
    c.send(data_chunk(a[2], a[3], b"\xEE" * a[4]))
    c.send(data_chunk(b[2], b[3], b"\x22" * b[4]))
    c.hang()


@scenario
def xmit_overlap_interleaved(c):
    """chunks of two reads interleaved (allowed); the first's overlap"""
    a, b = two_reads(c)
    half = a[4] // 2
    c.send(data_chunk(a[2], a[3], b"\x11" * half, flags=0))
    c.send(data_chunk(b[2], b[3], b"\x22" * b[4], flags=0))
    c.send(data_chunk(a[2], a[3] + half // 2, b"\xEE" * (a[4] - half // 2)))
    c.chunk(b[2], CHUNK_NONE)
    c.hang()


@scenario
def xmit_chunk_in_simple_data(c):
    """a chunk for the 2nd read inside the 1st's simple reply data"""
    a, b = two_reads(c)
    inner = data_chunk(b[2], b[3], b"\x22" * b[4])
    data = b"\x11" * 100 + inner
    c.send(struct.pack(">IIQ", SIMPLE_MAGIC, 0, a[2]) + data[:a[4]])
    c.send(data[a[4]:] + b"\x11" * 64)
    c.hang()


@scenario
def xmit_simple_in_chunk_data(c):
    """a simple reply for the 2nd read inside the 1st's OFFSET_DATA"""
    a, b = two_reads(c)
    inner = struct.pack(">IIQ", SIMPLE_MAGIC, 5, b[2])
    payload = b"\x11" * 50 + inner + b"\x11" * (a[4] - 50 - len(inner))
    c.send(data_chunk(a[2], a[3], payload) + b"\x11" * 16)
    c.hang()


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        for name, f in SCENARIOS.items():
            print("%-28s %s" % (name, (f.__doc__ or "").strip()))
        return 0
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.stderr.write("usage: hostile-server.py SCENARIO SOCKET | --list\n")
        return 2
    scen, path = SCENARIOS[sys.argv[1]], sys.argv[2]

    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    # Bind under a temporary name and rename, so the socket appears
    # only once it listens.
    tmp = path + ".tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    lsock.bind(tmp)
    lsock.listen(4)
    os.rename(tmp, path)
    lsock.settimeout(WAIT)
    n = 0
    try:
        while True:
            try:
                s, _ = lsock.accept()
            except socket.timeout:
                break
            c = Conn(s)
            try:
                (scen if n == 0 else good)(c)
            except Done:
                pass
            finally:
                c.close()
            n += 1
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
