/* nbdcli - the catalogue of flags: every rule the engine checks, once.
 * Copyright the nbdcli authors, MIT licence.
 *
 * FLAG_DEF (ENUM, "id", LEVEL, "rule", "spec section", "how to see it")
 *
 * LEVEL is MUST (the server broke a MUST) or SHOULD (a SHOULD).  The
 * rule is one sentence; the section names the part of the NBD spec
 * (doc/proto.md) that states it; the last text says how to reproduce
 * the check by hand with nbdcli.  Included by flags.h (the enum) and
 * flags.c (the table); nothing else.
 */

/* Option haggling: framing and replies. */
FLAG_DEF (F_REPLY_MAGIC, "reply-magic", MUST,
  "every option reply and transmission reply starts with its magic "
  "(option reply 0x0003e889045565a9; simple 0x67446698, structured "
  "0x668e33ef or extended 0x6e8a278c)",
  "Option reply; Transmission phase",
  "send any option (`list') or request (`read 0 512') and watch the reply's "
  "first bytes with `trace hex'")
FLAG_DEF (F_REPLY_ECHO, "reply-echo", MUST,
  "the reply echoes the option it answers",
  "Option reply",
  "send an option (`list', `opt 99') and compare the option named in the "
  "reply")
FLAG_DEF (F_TWO_FINALS, "two-finals", MUST,
  "the server sends exactly one final reply per option",
  "Option haggling",
  "send an option that gets a final reply (`sr'), then another (`list'): a "
  "second final reply to the first shows up before the next one's")
FLAG_DEF (F_UNSOLICITED_REPLY, "unsolicited-reply", MUST,
  "the server sends no option reply that was not asked for",
  "Option haggling",
  "connect and wait, then send any option: replies that arrived before it "
  "are shown first")
FLAG_DEF (F_UNSOLICITED_DATA, "unsolicited-data", MUST,
  "the server sends nothing unasked: only the replies to options and "
  "requests",
  "Option haggling; Transmission phase",
  "connect, wait, then send an option or a request: bytes that arrived "
  "before it are shown")
FLAG_DEF (F_ACK_PAYLOAD, "ack-payload", MUST,
  "NBD_REP_ACK has no data",
  "Option reply types",
  "`sr' or `smc base:allocation' and read the ACK's length")
FLAG_DEF (F_REP_SERVER_MALFORMED, "rep-server-malformed", MUST,
  "NBD_REP_SERVER holds a name length, the name and a description",
  "NBD_REP_SERVER",
  "`list' and read each NBD_REP_SERVER (`trace on')")
FLAG_DEF (F_REP_META_MALFORMED, "rep-meta-malformed", MUST,
  "NBD_REP_META_CONTEXT holds a 4-byte context id and a name",
  "NBD_REP_META_CONTEXT",
  "`sr; lmc base:' and read each NBD_REP_META_CONTEXT (`trace on')")
FLAG_DEF (F_INFO_LENGTH, "info-length", MUST,
  "NBD_REP_INFO starts with a 2-byte info type",
  "NBD_REP_INFO",
  "`info --all' and read each NBD_REP_INFO")
FLAG_DEF (F_INFO_EXPORT_LENGTH, "info-export-length", MUST,
  "NBD_INFO_EXPORT is 12 bytes long",
  "NBD_INFO_EXPORT",
  "`info' and read NBD_INFO_EXPORT's length")
FLAG_DEF (F_INFO_BLOCK_SIZE_LENGTH, "info-block-size-length", MUST,
  "NBD_INFO_BLOCK_SIZE is 14 bytes long",
  "NBD_INFO_BLOCK_SIZE",
  "`info --all' and read NBD_INFO_BLOCK_SIZE's length")
FLAG_DEF (F_INFO_EXPORT_MISSING, "info-export-missing", MUST,
  "the server MUST send NBD_INFO_EXPORT before a successful final reply",
  "NBD_OPT_INFO and NBD_OPT_GO",
  "`info' (or `go') and look for NBD_INFO_EXPORT before the ACK")
FLAG_DEF (F_INFO_GO_MISMATCH, "info-go-mismatch", MUST,
  "a successful NBD_OPT_INFO followed by NBD_OPT_GO with the same data MUST "
  "give the same information",
  "NBD_OPT_INFO and NBD_OPT_GO",
  "`info' then `go' with the same export and compare size and flags")
FLAG_DEF (F_BLOCK_SIZE_INVALID, "block-size-invalid", MUST,
  "block sizes are powers of two with minimum <= preferred <= maximum, "
  "minimum at most 64 KiB, preferred at least 4 KiB (or the minimum), "
  "maximum a multiple of the minimum",
  "Block size constraints",
  "`info --all' and read NBD_INFO_BLOCK_SIZE")
FLAG_DEF (F_HAS_FLAGS_MISSING, "has-flags-missing", MUST,
  "NBD_FLAG_HAS_FLAGS MUST always be 1",
  "Transmission flags",
  "`info' (or `go', `export-name') and read the transmission flags")
FLAG_DEF (F_FAST_ZERO_WITHOUT_WRITE_ZEROES, "fast-zero-without-write-zeroes",
  MUST,
  "NBD_FLAG_SEND_FAST_ZERO MUST be 0 if NBD_FLAG_SEND_WRITE_ZEROES is 0",
  "Transmission flags",
  "`info' and read the transmission flags")
FLAG_DEF (F_DF_WITHOUT_SR, "df-without-sr", MUST,
  "the server MUST leave NBD_FLAG_SEND_DF clear if structured replies have "
  "not been negotiated",
  "Transmission flags",
  "`info' without `sr' first and read the transmission flags")
FLAG_DEF (F_META_DUP_ID, "meta-dup-id", MUST,
  "the server MUST use distinct ids for distinct contexts in one "
  "SET_META_CONTEXT reply",
  "NBD_OPT_SET_META_CONTEXT",
  "`sr; smc base:allocation qemu:allocation-depth' and compare the ids")
FLAG_DEF (F_META_UNREQUESTED, "meta-unrequested", MUST,
  "the server replies only with contexts that match the queries",
  "NBD_OPT_SET_META_CONTEXT",
  "`sr; smc base:allocation' and read the context names in the replies")
FLAG_DEF (F_STRING_TOO_LONG, "string-too-long", MUST,
  "strings (names, descriptions, error messages) MUST be no longer than "
  "4096 bytes",
  "Conventions",
  "`list', `info --all' or an option the server refuses, and read the "
  "strings' lengths")
FLAG_DEF (F_STRING_NUL, "string-nul", MUST,
  "strings MUST NOT contain NUL characters",
  "Conventions",
  "`list' or `info --all' and read the strings")
FLAG_DEF (F_EXPORT_NAME_PADDING, "export-name-padding", MUST,
  "the 124 bytes after the export size and flags are zero",
  "NBD_OPT_EXPORT_NAME",
  "`export-name' on a connection without NO_ZEROES (`set client-flags 1'), "
  "with `trace hex'")
FLAG_DEF (F_OLDSTYLE_HANDSHAKE_FLAGS, "oldstyle-handshake-flags", MUST,
  "handshake flags MUST NOT be set in oldstyle negotiation",
  "Oldstyle negotiation",
  "connect to an oldstyle server with `trace hex' and read the flags "
  "field")

/* TLS. */
FLAG_DEF (F_TLS_STATE_KEPT_SR, "tls-state-kept-sr", MUST,
  "structured reply from before STARTTLS kept; the server MUST NOT preserve "
  "negotiation state",
  "NBD_OPT_STARTTLS",
  "`sr; starttls; info': after STARTTLS, NBD_FLAG_SEND_DF (or a structured "
  "reply to `go; read 0 512') shows the old request still holds")
FLAG_DEF (F_TLS_STATE_KEPT_EH, "tls-state-kept-eh", MUST,
  "extended headers from before STARTTLS kept; the server MUST NOT preserve "
  "negotiation state",
  "NBD_OPT_STARTTLS",
  "`eh; starttls; go; read 0 512': an extended reply shows the old request "
  "still holds")
FLAG_DEF (F_TLS_STATE_KEPT_META, "tls-state-kept-meta", MUST,
  "meta contexts from before STARTTLS kept; the server MUST NOT preserve "
  "negotiation state",
  "NBD_OPT_STARTTLS",
  "`sr; smc base:allocation; starttls; sr; go; block-status 0 512'")
FLAG_DEF (F_TLS_STATE_KEPT_EXPORT, "tls-state-kept-export", MUST,
  "export selection from before STARTTLS kept; the server MUST NOT preserve "
  "negotiation state",
  "NBD_OPT_STARTTLS",
  "`info A; starttls; info B' and compare NBD_INFO_NAME with B")
FLAG_DEF (F_STARTTLS_TWICE, "starttls-twice", MUST,
  "a second NBD_OPT_STARTTLS MUST fail with NBD_REP_ERR_INVALID",
  "NBD_OPT_STARTTLS",
  "`starttls; starttls'")
FLAG_DEF (F_TLS_REQD_AFTER_TLS, "tls-reqd-after-tls", MUST,
  "NBD_REP_ERR_TLS_REQD only while TLS is not up",
  "NBD_REP_ERR_TLS_REQD",
  "`starttls; info' and read the reply")
FLAG_DEF (F_TLS_REQD_WITHOUT_TLS, "tls-reqd-without-tls", MUST,
  "a server that does not offer TLS (NOTLS mode) never answers "
  "NBD_REP_ERR_TLS_REQD",
  "NOTLS mode",
  "`starttls' (refused), then `info'")

/* Transmission: replies. */
FLAG_DEF (F_COOKIE_MISMATCH, "cookie-mismatch", MUST,
  "every reply and chunk echoes the cookie of a request in flight",
  "Transmission phase",
  "`go; read 0 512' and compare the cookies; with several requests in "
  "flight (`read 0 512 &; read 512 512 &; wait'), each reply's cookie must "
  "be one of theirs")
FLAG_DEF (F_REPLY_AFTER_FINAL, "reply-after-final", MUST,
  "a request gets one final reply: nothing with its cookie after a simple "
  "reply or a chunk with NBD_REPLY_FLAG_DONE",
  "Transmission phase; Structured reply message",
  "`sr; go; read 0 512 &; read 512 512 &; wait', then `flush': a second "
  "final reply to a cookie shows up while later replies are read")
FLAG_DEF (F_REPLY_INSIDE_REPLY, "reply-inside-reply", MUST,
  "replies may interleave only as whole messages: no reply starts inside a "
  "simple reply's data or a chunk's payload",
  "Simple reply message; Structured reply message",
  "`sr; go; read 0 512 &; read 512 512 &; wait' (or without `sr') with "
  "`trace hex': a header in the middle of the first reply's data")
FLAG_DEF (F_EXTENDED_OFFSET_ECHO, "extended-offset-echo", MUST,
  "an extended reply echoes the request's offset",
  "Extended reply chunk",
  "`eh; go; read 4096 512' and read the offset of each reply")
FLAG_DEF (F_REPLY_FLAGS_UNKNOWN, "reply-flags-unknown", MUST,
  "only NBD_REPLY_FLAG_DONE is defined in a chunk's flags",
  "Structured reply chunk",
  "`sr; go; read 0 512' and read each chunk's flags")
FLAG_DEF (F_SR_NOT_NEGOTIATED, "sr-not-negotiated", MUST,
  "without structured replies the server MUST use only simple replies",
  "Structured replies",
  "`go; read 0 512' without `sr' first")
FLAG_DEF (F_EH_NOT_NEGOTIATED, "eh-not-negotiated", MUST,
  "extended replies only after NBD_OPT_EXTENDED_HEADERS",
  "Extended headers",
  "`go; read 0 512' without `eh' first")
FLAG_DEF (F_STRUCTURED_REPLY_WITH_EH, "structured-reply-with-eh", MUST,
  "with extended headers every reply uses the extended header",
  "Extended reply chunk",
  "`eh; go; read 0 512'")
FLAG_DEF (F_SIMPLE_REPLY_WITH_EH, "simple-reply-with-eh", MUST,
  "with extended headers every reply uses the extended header",
  "Extended reply chunk",
  "`eh; go; flush'")
FLAG_DEF (F_SIMPLE_REPLY_TO_READ_WITH_SR, "simple-reply-to-read-with-sr",
  MUST,
  "with structured replies the server MUST NOT answer NBD_CMD_READ with a "
  "simple reply",
  "Structured replies",
  "`sr; go; read 0 512'")
FLAG_DEF (F_NO_DONE, "no-done", MUST,
  "the last chunk of a structured reply has NBD_REPLY_FLAG_DONE",
  "Structured reply chunk",
  "`sr; go; read 0 512' and read the flags of the last chunk")
FLAG_DEF (F_NONE_WITHOUT_DONE, "none-without-done", MUST,
  "NBD_REPLY_TYPE_NONE MUST have NBD_REPLY_FLAG_DONE",
  "NBD_REPLY_TYPE_NONE",
  "`sr; go; flush' and read the chunk")
FLAG_DEF (F_CHUNK_LENGTH, "chunk-length", MUST,
  "a chunk's length fits its type: NONE is empty, OFFSET_DATA at least 9 "
  "bytes, OFFSET_HOLE 12 bytes covering at least one byte, an error chunk "
  "its fields and a message of at most 4096 bytes, block status 4 + 8n "
  "(extended: 8 + 16n) bytes",
  "Structured reply chunk message types",
  "`sr; go; read 0 512' (or an error: `cmd READ SIZE 512', past the end) "
  "with `trace hex' and compare each chunk's length with its fields")
FLAG_DEF (F_CHUNK_TYPE_FOR_COMMAND, "chunk-type-for-command", MUST,
  "OFFSET_DATA and OFFSET_HOLE only answer NBD_CMD_READ, block status chunks "
  "only NBD_CMD_BLOCK_STATUS",
  "Structured reply chunk message types",
  "`sr; go; flush' or `write 0 512' and read the chunk types")
FLAG_DEF (F_CHUNK_TYPE_UNKNOWN, "chunk-type-unknown", MUST,
  "the server sends only the chunk types the spec defines (a client MUST "
  "hard-disconnect on an unknown non-error type)",
  "Structured reply chunk message types",
  "`sr; go; read 0 512' and read the chunk types")
FLAG_DEF (F_CHUNK_OUTSIDE_REQUEST, "chunk-outside-request", MUST,
  "content chunks, and the offset of ERROR_OFFSET, lie within the request",
  "Structured reply chunk message types",
  "`sr; go; read 0 4096' and compare each chunk's offset and length with "
  "the request")
FLAG_DEF (F_CHUNK_OVERLAP, "chunk-overlap", MUST,
  "content chunks of one reply do not overlap",
  "Structured reply chunk message types",
  "`sr; go; read 0 4096' and compare the chunks' ranges")
FLAG_DEF (F_HOLE_WITH_DF, "hole-with-df", MUST,
  "with NBD_CMD_FLAG_DF holes are sent as data",
  "NBD_CMD_FLAG_DF",
  "`sr; go; read 0 65536 --flags df' on a sparse export")
FLAG_DEF (F_READ_INCOMPLETE, "read-incomplete", MUST,
  "without an error the content chunks cover the whole request",
  "NBD_CMD_READ",
  "`sr; go; read 0 4096' and add up the chunks")
FLAG_DEF (F_ERROR_VALUE_ZERO, "error-value-zero", MUST,
  "an error chunk carries a nonzero error",
  "NBD_REPLY_TYPE_ERROR",
  "`sr; go' then a request the server refuses, and read the error chunk")
FLAG_DEF (F_ERROR_VALUE_UNDEFINED, "error-value-undefined", SHOULD,
  "error values are those the spec lists",
  "Error values",
  "a request the server refuses (`cmd READ SIZE 512', past the end) and "
  "read the error value")
FLAG_DEF (F_REPLY_TO_DISC, "reply-to-disc", MUST,
  "NBD_CMD_DISC has no reply",
  "NBD_CMD_DISC",
  "`go; disc' and watch for anything after it")

/* Transmission: block status. */
FLAG_DEF (F_BLOCK_STATUS_UNKNOWN_CONTEXT, "block-status-unknown-context", MUST,
  "block status only for contexts selected with NBD_OPT_SET_META_CONTEXT",
  "NBD_CMD_BLOCK_STATUS",
  "`sr; smc base:allocation; go; block-status 0 65536' and read the "
  "context ids")
FLAG_DEF (F_BLOCK_STATUS_MISSING_CONTEXT, "block-status-missing-context", MUST,
  "one block status chunk per selected context",
  "NBD_REPLY_TYPE_BLOCK_STATUS",
  "`sr; smc base:allocation; go; block-status 0 65536'")
FLAG_DEF (F_BLOCK_STATUS_DUPLICATE_CONTEXT, "block-status-duplicate-context",
  MUST,
  "exactly one block status chunk per selected context",
  "NBD_REPLY_TYPE_BLOCK_STATUS",
  "`sr; smc base:allocation; go; block-status 0 65536'")
FLAG_DEF (F_BLOCK_STATUS_EXT_WITHOUT_EH, "block-status-ext-without-eh", MUST,
  "NBD_REPLY_TYPE_BLOCK_STATUS_EXT only when extended headers are "
  "negotiated",
  "NBD_REPLY_TYPE_BLOCK_STATUS_EXT",
  "`sr; smc base:allocation; go; block-status 0 65536' without `eh'")
FLAG_DEF (F_BLOCK_STATUS_COMPACT_WITH_EH, "block-status-compact-with-eh", MUST,
  "with extended headers block status comes as NBD_REPLY_TYPE_BLOCK_STATUS_EXT",
  "NBD_REPLY_TYPE_BLOCK_STATUS_EXT",
  "`eh; smc base:allocation; go; block-status 0 65536'")
FLAG_DEF (F_BLOCK_STATUS_EXT_HIGH_BITS, "block-status-ext-high-bits", MUST,
  "in BLOCK_STATUS_EXT the upper 32 status bits are zero for a 32-bit "
  "context (every base: context)",
  "NBD_REPLY_TYPE_BLOCK_STATUS_EXT",
  "`eh; smc base:allocation; go; block-status 0 65536'")
FLAG_DEF (F_BLOCK_STATUS_UNASKED_CONTEXT, "block-status-unasked-context",
  MUST,
  "with a block-status payload (NBD_FLAG_BLOCK_STATUS_PAYLOAD), block "
  "status only for the context ids the payload names",
  "NBD_FLAG_BLOCK_STATUS_PAYLOAD",
  "`eh; smc base:allocation qemu:allocation-depth; go; cmd BLOCK_STATUS "
  "0 12 --flags 0x20 0000000000010000 00000001'")
FLAG_DEF (F_BLOCK_STATUS_TOO_MANY_EXTENTS, "block-status-too-many-extents",
  SHOULD,
  "a block status chunk SHOULD NOT hold more than 2^20 extents",
  "NBD_REPLY_TYPE_BLOCK_STATUS",
  "`sr; smc base:allocation; go; block-status 0 SIZE' on a very "
  "fragmented export")
FLAG_DEF (F_BLOCK_STATUS_UNALIGNED, "block-status-unaligned", SHOULD,
  "extent lengths SHOULD be multiples of the advertised minimum block "
  "size (the last one may end at an unaligned end of the export)",
  "NBD_REPLY_TYPE_BLOCK_STATUS",
  "`info --block-size; sr; smc base:allocation; go; block-status 0 SIZE'")
FLAG_DEF (F_BLOCK_STATUS_NO_EXTENTS, "block-status-no-extents", MUST,
  "a block status chunk holds at least one extent",
  "NBD_REPLY_TYPE_BLOCK_STATUS",
  "`sr; smc base:allocation; go; block-status 0 65536'")
FLAG_DEF (F_BLOCK_STATUS_EMPTY_EXTENT, "block-status-empty-extent", MUST,
  "extent lengths are nonzero",
  "NBD_REPLY_TYPE_BLOCK_STATUS",
  "`sr; smc base:allocation; go; block-status 0 65536'")
FLAG_DEF (F_BLOCK_STATUS_BEYOND_REQUEST, "block-status-beyond-request", MUST,
  "only the last extent may reach past the requested length",
  "NBD_REPLY_TYPE_BLOCK_STATUS",
  "`sr; smc base:allocation; go; block-status 0 4096'")
FLAG_DEF (F_BLOCK_STATUS_REQ_ONE, "block-status-req-one", MUST,
  "with NBD_CMD_FLAG_REQ_ONE the reply has exactly one extent, no longer "
  "than the request",
  "NBD_CMD_BLOCK_STATUS",
  "`sr; smc base:allocation; go; block-status 0 65536 --flags req-one'")

/* Several connections. */
FLAG_DEF (F_MULTI_CONN_NOT_SHARED, "multi-conn-not-shared", MUST,
  "with NBD_FLAG_CAN_MULTI_CONN, data written and flushed on one connection "
  "is read back on every other connection to the same export",
  "NBD_FLAG_CAN_MULTI_CONN",
  "`sr; go; multi-conn-check': a write and a FLUSH on this connection, then "
  "a read on a second one")
