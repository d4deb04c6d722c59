/* nbdcli - help for protocol elements: `help NBD_OPT_GO', `help 7',
 * `help base:allocation'.
 * Copyright the nbdcli authors, MIT licence.
 *
 * One row per element of the protocol: options, option replies,
 * information types, handshake, client and transmission flags,
 * commands and their flags, structured reply types and flags, error
 * values, magic numbers and metadata namespaces and contexts.  Each
 * row's text says what the element means, when it is legal, what the
 * spec requires (paraphrased, with the section to read) and which
 * nbdcli command sends or shows it, with the flags nbdcli raises about
 * it.
 */
#include <config.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "elements.h"
#include "nbd-proto.h"

/* Status bits of metadata contexts: base:allocation (NBD spec) and
 * qemu:dirty-bitmap:NAME (qemu's docs/interop/nbd.rst).
 */
#ifndef NBD_STATE_HOLE
#define NBD_STATE_HOLE  (1 << 0)
#endif
#ifndef NBD_STATE_ZERO
#define NBD_STATE_ZERO  (1 << 1)
#endif
#ifndef NBD_STATE_DIRTY
#define NBD_STATE_DIRTY (1 << 0)
#endif

enum element_kind {
  EK_OPTION,
  EK_REPLY,
  EK_INFO,
  EK_HANDSHAKE_FLAG,
  EK_CLIENT_FLAG,
  EK_TRANSMISSION_FLAG,
  EK_COMMAND,
  EK_COMMAND_FLAG,
  EK_REPLY_FLAG,
  EK_REPLY_TYPE,
  EK_ERROR,
  EK_MAGIC,
  EK_NAMESPACE,
  EK_CONTEXT,
  EK_STATUS_FLAG,
};

/* How each kind is named in the header line, and whether it has a
 * number (namespaces and contexts are known by name only).
 */
static const struct {
  const char *label;
  bool has_value;
} kinds[] = {
  [EK_OPTION]            = { "option", true },
  [EK_REPLY]             = { "option reply", true },
  [EK_INFO]              = { "info type", true },
  [EK_HANDSHAKE_FLAG]    = { "handshake flag", true },
  [EK_CLIENT_FLAG]       = { "client flag", true },
  [EK_TRANSMISSION_FLAG] = { "transmission flag", true },
  [EK_COMMAND]           = { "command", true },
  [EK_COMMAND_FLAG]      = { "command flag", true },
  [EK_REPLY_FLAG]        = { "structured reply flag", true },
  [EK_REPLY_TYPE]        = { "structured reply type", true },
  [EK_ERROR]             = { "error", true },
  [EK_MAGIC]             = { "magic number", true },
  [EK_NAMESPACE]         = { "metadata namespace", false },
  [EK_CONTEXT]           = { "metadata context", false },
  [EK_STATUS_FLAG]       = { "block status flag", true },
};

struct element {
  enum element_kind kind;
  const char *name;             /* full name, e.g. "NBD_OPT_GO" */
  const char *shortname;        /* e.g. "GO", or NULL */
  const char *alias[2];         /* other spellings, or NULL */
  uint64_t value;               /* for flags: the mask */
  bool is_flag;
  const char *text;             /* paragraphs, lines ending in \n */
};

static const struct element elements[] = {
  /* Options (NBD_OPT_*). */
  { EK_OPTION, "NBD_OPT_EXPORT_NAME", "EXPORT_NAME", { NULL },
    NBD_OPT_EXPORT_NAME, false,
    "Selects an export by name and ends option haggling the old way: on\n"
    "success the server goes straight into the transmission phase.  The\n"
    "option data is the whole export name (empty: the default export).\n"
    "\n"
    "When: during option haggling, in any newstyle handshake.  It is\n"
    "the only option a client may send without fixed newstyle\n"
    "(NBD_FLAG_C_FIXED_NEWSTYLE).\n"
    "\n"
    "Rules: there is no option reply.  On success the server sends the\n"
    "export size (64 bits) and the transmission flags (16 bits), then\n"
    "124 zero bytes unless both NBD_FLAG_NO_ZEROES and\n"
    "NBD_FLAG_C_NO_ZEROES were exchanged.  If it cannot serve the\n"
    "export (unknown name, TLS required first) the server MUST\n"
    "terminate the session, because it has no way to send an error.  A\n"
    "client SHOULD prefer NBD_OPT_GO and fall back to this option only\n"
    "when GO is unsupported; with extended headers negotiated it MUST\n"
    "NOT use it (spec: NBD_OPT_EXPORT_NAME).\n"
    "\n"
    "nbdcli: `export-name [EXPORT]' sends it; `opt 1 PAYLOAD' sends any\n"
    "bytes.  Raises export-name-padding when the 124 padding bytes are\n"
    "not zero; the transmission flags are checked as for\n"
    "NBD_INFO_EXPORT.\n" },
  { EK_OPTION, "NBD_OPT_ABORT", "ABORT", { NULL }, NBD_OPT_ABORT, false,
    "Ends option haggling politely: a soft disconnect initiated by the\n"
    "client.\n"
    "\n"
    "When: at any point of fixed-newstyle option haggling, before or\n"
    "after TLS.\n"
    "\n"
    "Rules: the client SHOULD send no data and the server SHOULD ignore\n"
    "any.  The server MUST reply NBD_REP_ACK; the client then shuts\n"
    "down TLS (if running) and closes the connection.  Both sides\n"
    "SHOULD cope with the other closing without waiting for the ACK.  A\n"
    "FORCEDTLS server should not answer it with NBD_REP_ERR_TLS_REQD\n"
    "(spec: NBD_OPT_ABORT; Termination of the session during option\n"
    "haggling).\n"
    "\n"
    "nbdcli: `abort' sends it, shows the reply and closes the\n"
    "connection.\n" },
  { EK_OPTION, "NBD_OPT_LIST", "LIST", { NULL }, NBD_OPT_LIST, false,
    "Asks the server for the list of its exports.\n"
    "\n"
    "When: during fixed-newstyle option haggling.  A FORCEDTLS server\n"
    "answers NBD_REP_ERR_TLS_REQD until TLS is up; a SELECTIVETLS\n"
    "server MAY leave TLS-only exports out of the list before TLS.\n"
    "\n"
    "Rules: the client MUST NOT send data, and the server SHOULD reject\n"
    "data with NBD_REP_ERR_INVALID.  The answer is zero or more\n"
    "NBD_REP_SERVER replies, one per export, then NBD_REP_ACK, or an\n"
    "error instead (NBD_REP_ERR_POLICY when listing is disabled,\n"
    "NBD_REP_ERR_SHUTDOWN, ...).  Every server must implement it (spec:\n"
    "NBD_OPT_LIST; Compatibility and interoperability).\n"
    "\n"
    "nbdcli: `list' sends it and shows each export's name and\n"
    "description; the names are remembered for completion.\n" },
  { EK_OPTION, "NBD_OPT_PEEK_EXPORT", "PEEK_EXPORT", { NULL },
    NBD_OPT_PEEK_EXPORT, false,
    "Reserved: it belonged to the withdrawn experimental PEEK_EXPORT\n"
    "extension and is not in use.\n"
    "\n"
    "When: never; clients do not send it.\n"
    "\n"
    "Rules: a server that does not know an option answers\n"
    "NBD_REP_ERR_UNSUP (or NBD_REP_ERR_TLS_REQD in FORCEDTLS mode\n"
    "before TLS) and MUST still parse the next option correctly (spec:\n"
    "Option types; Compatibility and interoperability).\n"
    "\n"
    "nbdcli: no named command; `opt 4' sends it anyway to see what the\n"
    "server does.\n" },
  { EK_OPTION, "NBD_OPT_STARTTLS", "STARTTLS", { NULL }, NBD_OPT_STARTTLS,
    false,
    "Upgrades the connection to TLS in place: after the server's\n"
    "NBD_REP_ACK every further byte on the same socket is a TLS record.\n"
    "\n"
    "When: only after a fixed-newstyle exchange (the server set\n"
    "NBD_FLAG_FIXED_NEWSTYLE and the client answered\n"
    "NBD_FLAG_C_FIXED_NEWSTYLE), and only while TLS is not yet up.  A\n"
    "client that wants TLS SHOULD send it as its first option and\n"
    "SHOULD defer stateful options until it knows whether TLS is\n"
    "available.\n"
    "\n"
    "Rules: the client MUST NOT send data (NBD_REP_ERR_INVALID is the\n"
    "spec's example answer).  A NOTLS server answers\n"
    "NBD_REP_ERR_POLICY, NBD_REP_ERR_UNSUP or another permitted error,\n"
    "never ACK.  FORCEDTLS and SELECTIVETLS servers MUST answer ACK\n"
    "before TLS and NBD_REP_ERR_INVALID once TLS is up.  After the ACK\n"
    "there is no way back: a failed TLS handshake MUST end the session.\n"
    "When STARTTLS succeeds the server MUST NOT keep any negotiation\n"
    "state from before it (structured replies, meta contexts, extended\n"
    "headers); the client must negotiate them again.  A server that\n"
    "kept them was nbdkit's CVE-2021-3716 (spec: NBD_OPT_STARTTLS; TLS\n"
    "support).\n"
    "\n"
    "nbdcli: `starttls' sends it and runs the TLS handshake with the\n"
    "credentials from the URI, the command line or `set tls-...';\n"
    "`state' then shows a new TLS epoch.  Raises tls-state-kept-sr,\n"
    "tls-state-kept-meta, tls-state-kept-eh and tls-state-kept-export\n"
    "when the server behaves as if it remembered state from before\n"
    "STARTTLS, and starttls-twice when it accepts a second STARTTLS.\n" },
  { EK_OPTION, "NBD_OPT_INFO", "INFO", { NULL }, NBD_OPT_INFO, false,
    "Asks about one export (size, transmission flags and, on request,\n"
    "canonical name, description and block sizes) without leaving\n"
    "option haggling.  Request and replies are those of NBD_OPT_GO.\n"
    "\n"
    "Data: 32-bit export name length, the name (empty: the default\n"
    "export), 16-bit number of information requests, then that many\n"
    "16-bit NBD_INFO_* types.\n"
    "\n"
    "When: during fixed-newstyle option haggling.  A FORCEDTLS server\n"
    "answers NBD_REP_ERR_TLS_REQD before TLS, a SELECTIVETLS server for\n"
    "TLS-only exports.\n"
    "\n"
    "Rules: the client MUST NOT repeat an information type; the server\n"
    "MUST ignore types it does not know and MAY send ones not asked\n"
    "for.  The answer is NBD_REP_INFO replies, then one final reply:\n"
    "NBD_REP_ACK (at least one NBD_INFO_EXPORT MUST come before it),\n"
    "NBD_REP_ERR_UNKNOWN (no such export), NBD_REP_ERR_TLS_REQD,\n"
    "NBD_REP_ERR_BLOCK_SIZE_REQD, NBD_REP_ERR_UNSUP (an old server:\n"
    "fall back to NBD_OPT_EXPORT_NAME) or another error.  A successful\n"
    "INFO followed by a GO with the same parameters and no option in\n"
    "between MUST get the same information (spec: NBD_OPT_INFO and\n"
    "NBD_OPT_GO).\n"
    "\n"
    "nbdcli: `info [EXPORT] [--name] [--description] [--block-size]\n"
    "[--all] [--request N]'.  Raises info-export-missing when the ACK\n"
    "comes without NBD_INFO_EXPORT; the NBD_INFO_* replies are checked\n"
    "as described under each type.\n" },
  { EK_OPTION, "NBD_OPT_GO", "GO", { NULL }, NBD_OPT_GO, false,
    "Selects an export and enters the transmission phase: like\n"
    "NBD_OPT_INFO, but a final NBD_REP_ACK ends option haggling.  It is\n"
    "the improved NBD_OPT_EXPORT_NAME, able to return errors.\n"
    "\n"
    "Data: 32-bit export name length, the name (empty: the default\n"
    "export), 16-bit number of information requests, then that many\n"
    "16-bit NBD_INFO_* types.\n"
    "\n"
    "When: during fixed-newstyle option haggling, as the last option.\n"
    "Meta contexts from NBD_OPT_SET_META_CONTEXT only count if that SET\n"
    "named the same export, with no STARTTLS in between.\n"
    "\n"
    "Rules: as for NBD_OPT_INFO: NBD_REP_INFO replies (NBD_INFO_EXPORT\n"
    "is mandatory before an ACK), then one final reply.  After the ACK\n"
    "the server sends no zero padding, whatever the NO_ZEROES flags\n"
    "say, and the client MUST NOT send more options.  A client that\n"
    "asked for NBD_INFO_BLOCK_SIZE MUST obey the constraints it gets\n"
    "(spec: NBD_OPT_INFO and NBD_OPT_GO).\n"
    "\n"
    "nbdcli: `go [EXPORT] [--name] [--description] [--block-size]\n"
    "[--all] [--request N]'; after the ACK the session is in\n"
    "transmission (see `state').  Raises info-export-missing, and the\n"
    "NBD_INFO_EXPORT checks (has-flags-missing, df-without-sr,\n"
    "tls-state-kept-sr, fast-zero-without-write-zeroes, ...) apply to\n"
    "its replies.\n" },
  { EK_OPTION, "NBD_OPT_STRUCTURED_REPLY", "STRUCTURED_REPLY", { NULL },
    NBD_OPT_STRUCTURED_REPLY, false,
    "Asks the server to answer in the transmission phase with\n"
    "structured reply chunks (NBD_STRUCTURED_REPLY_MAGIC) instead of\n"
    "simple replies.  Needed for NBD_CMD_FLAG_DF, meta contexts and\n"
    "NBD_CMD_BLOCK_STATUS.\n"
    "\n"
    "When: during fixed-newstyle option haggling, and again after every\n"
    "successful STARTTLS if still wanted.\n"
    "\n"
    "Rules: the client MUST NOT send data; the server SHOULD reject\n"
    "data with NBD_REP_ERR_INVALID.  NBD_REP_ACK means the server MUST\n"
    "use structured replies for NBD_CMD_READ (and for every reply with\n"
    "a payload); NBD_REP_ERR_UNSUP means no structured replies.  A\n"
    "repeated request MAY get NBD_REP_ERR_INVALID.  With extended\n"
    "headers already negotiated the extension answers\n"
    "NBD_REP_ERR_EXT_HEADER_REQD.  STARTTLS discards the negotiation\n"
    "(spec: NBD_OPT_STRUCTURED_REPLY).\n"
    "\n"
    "nbdcli: `structured-reply' (`sr'); `state' and `assert\n"
    "structured-reply' show whether it is negotiated in this TLS epoch.\n"
    "Related flags: sr-not-negotiated, tls-state-kept-sr,\n"
    "simple-reply-to-read-with-sr, df-without-sr.\n" },
  { EK_OPTION, "NBD_OPT_LIST_META_CONTEXT", "LIST_META_CONTEXT", { NULL },
    NBD_OPT_LIST_META_CONTEXT, false,
    "Lists the metadata contexts an export offers that match the\n"
    "queries.  It selects nothing: it only reports what\n"
    "NBD_OPT_SET_META_CONTEXT could select.\n"
    "\n"
    "Data: 32-bit export name length, the export name, 32-bit number of\n"
    "queries, then for each query a 32-bit length and the query string\n"
    "(which MUST start with a namespace and a colon, e.g. `base:').\n"
    "\n"
    "When: during option haggling, after structured replies were\n"
    "negotiated (the client SHOULD NOT send it before; the server MAY\n"
    "then answer NBD_REP_ERR_INVALID).\n"
    "\n"
    "Rules: with zero queries the server MUST return every context\n"
    "available on the export (wildcards allowed).  With queries it\n"
    "returns the matching contexts in any order and MUST ignore queries\n"
    "in unknown namespaces; when nothing matches the answer is just\n"
    "NBD_REP_ACK.  A syntactically invalid request (a query running\n"
    "past the option length) MUST get NBD_REP_ERR_INVALID.  The context\n"
    "ids in these replies are reserved (SHOULD be 0, clients MUST\n"
    "ignore them).  The server MAY fail with NBD_REP_ERR_TOO_BIG when\n"
    "queries were given (spec: NBD_OPT_LIST_META_CONTEXT; Metadata\n"
    "querying).\n"
    "\n"
    "nbdcli: `list-meta-context' (`lmc') `[--export E] QUERY...', e.g.\n"
    "`lmc base:' or `lmc qemu:'; the names are remembered for\n"
    "completion.\n" },
  { EK_OPTION, "NBD_OPT_SET_META_CONTEXT", "SET_META_CONTEXT", { NULL },
    NBD_OPT_SET_META_CONTEXT, false,
    "Selects the metadata contexts that NBD_CMD_BLOCK_STATUS will\n"
    "report on; the server gives each selected context an id.\n"
    "\n"
    "Data: 32-bit export name length, the export name, 32-bit number of\n"
    "queries, then for each query a 32-bit length and the query string\n"
    "(which MUST start with a namespace and a colon, e.g. `base:').\n"
    "\n"
    "When: during option haggling, and only after structured replies\n"
    "(or extended headers) were negotiated in this TLS epoch; otherwise\n"
    "the server SHOULD answer NBD_REP_ERR_INVALID.\n"
    "\n"
    "Rules: each SET replaces every earlier selection, even when it\n"
    "fails.  The answer is one NBD_REP_META_CONTEXT per selected\n"
    "context, each with a unique id, then NBD_REP_ACK; zero queries\n"
    "select nothing.  `base:' alone selects nothing.  The server MAY\n"
    "ignore queries that do not name exactly one context and MAY fail\n"
    "with NBD_REP_ERR_TOO_BIG.  The client may send\n"
    "NBD_CMD_BLOCK_STATUS only if its last SET named the export it then\n"
    "enters with GO or EXPORT_NAME, with no STARTTLS in between, and\n"
    "selected at least one context.  STARTTLS discards the selection\n"
    "(spec: NBD_OPT_SET_META_CONTEXT).\n"
    "\n"
    "nbdcli: `set-meta-context' (`smc') `[--export E] QUERY...';\n"
    "`state' lists the selected contexts and their ids.  Raises\n"
    "meta-unrequested, meta-dup-id, and tls-state-kept-meta when block\n"
    "status arrives for a context selected only before STARTTLS.\n" },
  { EK_OPTION, "NBD_OPT_EXTENDED_HEADERS", "EXTENDED_HEADERS", { NULL },
    NBD_OPT_EXTENDED_HEADERS, false,
    "Asks for extended headers: 32-byte requests and reply chunks with\n"
    "64-bit lengths in the transmission phase.  Defined by the\n"
    "extended-headers extension (the spec's master branch only reserves\n"
    "the number); qemu and libnbd implement it.\n"
    "\n"
    "When: during fixed-newstyle option haggling, and again after every\n"
    "successful STARTTLS if still wanted.\n"
    "\n"
    "Rules: the client MUST NOT send data (the server SHOULD answer\n"
    "NBD_REP_ERR_INVALID).  NBD_REP_ACK means both sides use\n"
    "NBD_EXTENDED_REQUEST_MAGIC and NBD_EXTENDED_REPLY_MAGIC headers,\n"
    "which take the place of structured replies; the server MUST then\n"
    "support NBD_OPT_GO and the client MUST NOT use\n"
    "NBD_OPT_EXPORT_NAME.  NBD_REP_ERR_UNSUP means compact headers.\n"
    "STARTTLS discards the negotiation (spec: extension-ext-header\n"
    "branch, NBD_OPT_EXTENDED_HEADERS).\n"
    "\n"
    "nbdcli: `extended-headers' (`eh'); `state' and `assert\n"
    "extended-headers' show it.  Related flags: eh-not-negotiated,\n"
    "tls-state-kept-eh, simple-reply-with-eh, structured-reply-with-eh,\n"
    "extended-offset-echo.\n" },

  /* Option reply types (NBD_REP_*). */
  { EK_REPLY, "NBD_REP_ACK", "ACK", { NULL }, NBD_REP_ACK, false,
    "The option succeeded, or the list of replies to it is complete.\n"
    "It is always a final reply.\n"
    "\n"
    "When: in answer to any option except NBD_OPT_EXPORT_NAME.  After\n"
    "NBD_OPT_GO it starts the transmission phase, after\n"
    "NBD_OPT_STARTTLS the TLS handshake, after NBD_OPT_ABORT the close.\n"
    "\n"
    "Rules: it carries no data.  Every option gets exactly one final\n"
    "reply, after any number of non-final ones (spec: Option reply\n"
    "types; Fixed newstyle negotiation).\n"
    "\n"
    "nbdcli: shown by every option command; `assert reply NBD_REP_ACK'\n"
    "checks the last final reply.  Raises ack-payload when it carries\n"
    "data, two-finals or unsolicited-reply when a final reply arrives\n"
    "that nothing asked for.\n" },
  { EK_REPLY, "NBD_REP_SERVER", "SERVER", { NULL }, NBD_REP_SERVER, false,
    "Describes one export in the answer to NBD_OPT_LIST.  Data: 32-bit\n"
    "name length (at most the reply length - 4), the name as usable\n"
    "with NBD_OPT_EXPORT_NAME, NBD_OPT_INFO or NBD_OPT_GO, then\n"
    "optionally a description for humans filling the rest.\n"
    "\n"
    "When: only in answer to NBD_OPT_LIST, before the final\n"
    "NBD_REP_ACK.  It is not a final reply.\n"
    "\n"
    "Rules: one per export; a SELECTIVETLS server MAY omit TLS-only\n"
    "exports before TLS.  Strings are UTF-8 without NUL, at most 4096\n"
    "bytes (spec: NBD_REP_SERVER under Option reply types).\n"
    "\n"
    "nbdcli: shown by `list' as the export name and description; the\n"
    "names are offered by completion.\n" },
  { EK_REPLY, "NBD_REP_INFO", "INFO", { NULL }, NBD_REP_INFO, false,
    "Carries one piece of information about an export in the answer to\n"
    "NBD_OPT_INFO or NBD_OPT_GO.  Data: a 16-bit NBD_INFO_* type, then\n"
    "its payload; the reply length includes the 2 type bytes.\n"
    "\n"
    "When: only in answer to NBD_OPT_INFO or NBD_OPT_GO, before the\n"
    "final reply.  It is not a final reply.\n"
    "\n"
    "Rules: a successful answer (NBD_REP_ACK) MUST include at least one\n"
    "carrying NBD_INFO_EXPORT; every other type is optional.  A type\n"
    "SHOULD appear only once.  The client MUST NOT rely on their order\n"
    "and MUST ignore types it does not know (spec: NBD_REP_INFO under\n"
    "Option reply types).\n"
    "\n"
    "nbdcli: shown decoded by `info' and `go'.  Raises\n"
    "info-export-length, info-block-size-length, block-size-invalid and\n"
    "info-export-missing.\n" },
  { EK_REPLY, "NBD_REP_META_CONTEXT", "META_CONTEXT", { NULL },
    NBD_REP_META_CONTEXT, false,
    "Describes one metadata context.  Data: a 32-bit context id, then\n"
    "the context name (UTF-8) filling the rest.\n"
    "\n"
    "When: in answer to NBD_OPT_LIST_META_CONTEXT or\n"
    "NBD_OPT_SET_META_CONTEXT, before the final reply.  It is not a\n"
    "final reply.\n"
    "\n"
    "Rules: in answer to SET, each selected context gets a unique id,\n"
    "which block status chunks then use; ids are transient and never\n"
    "valid on another connection.  In answer to LIST the id SHOULD be 0\n"
    "and clients MUST ignore it.  If the final reply is an error the\n"
    "client MUST disregard the contexts received (spec:\n"
    "NBD_OPT_SET_META_CONTEXT; NBD_OPT_LIST_META_CONTEXT).\n"
    "\n"
    "nbdcli: shown by `lmc' and `smc'; `state' lists the selected\n"
    "contexts with their ids.  Raises meta-unrequested for a context\n"
    "that matches no query sent, meta-dup-id when two contexts of one\n"
    "SET share an id.\n" },
  { EK_REPLY, "NBD_REP_ERR_UNSUP", "ERR_UNSUP", { "UNSUP" }, NBD_REP_ERR_UNSUP,
    false,
    "The server does not know the option (it is too old, or the option\n"
    "comes from an extension it lacks).  Error replies have bit 31 set\n"
    "and MAY carry a UTF-8 message for humans as their data.  Like\n"
    "NBD_REP_ACK they are final replies.\n"
    "\n"
    "When: in answer to any option the server does not implement.\n"
    "Exception: a FORCEDTLS server answers every option except STARTTLS\n"
    "(and ABORT) with NBD_REP_ERR_TLS_REQD before TLS, unknown ones\n"
    "included.\n"
    "\n"
    "Rules: servers MUST answer options they do not implement with it\n"
    "and MUST NOT fail to parse the next option.  In answer to\n"
    "NBD_OPT_GO or NBD_OPT_INFO it tells the client to fall back to\n"
    "NBD_OPT_EXPORT_NAME; to NBD_OPT_STRUCTURED_REPLY, that there are\n"
    "no structured replies (spec: Option reply types; Compatibility and\n"
    "interoperability).\n"
    "\n"
    "nbdcli: shown with the server's message by any option command;\n"
    "`opt NUMBER' probes options the server may not know.\n" },
  { EK_REPLY, "NBD_REP_ERR_POLICY", "ERR_POLICY", { "POLICY" },
    NBD_REP_ERR_POLICY, false,
    "The server knows the option and it is valid, but its configuration\n"
    "forbids it (e.g. listing exports is disabled).  Error replies have\n"
    "bit 31 set and MAY carry a UTF-8 message for humans as their data.\n"
    "Like NBD_REP_ACK they are final replies.\n"
    "\n"
    "When: in answer to any option; typically NBD_OPT_LIST, or\n"
    "NBD_OPT_STARTTLS from a server that does not offer TLS (NOTLS\n"
    "mode).\n"
    "\n"
    "Rules: it is one of the answers the spec names for STARTTLS in\n"
    "NOTLS mode, together with NBD_REP_ERR_UNSUP (spec: Option reply\n"
    "types; NOTLS mode).\n"
    "\n"
    "nbdcli: shown with the server's message.\n" },
  { EK_REPLY, "NBD_REP_ERR_INVALID", "ERR_INVALID", { "INVALID" },
    NBD_REP_ERR_INVALID, false,
    "The server knows the option but found the request syntactically or\n"
    "semantically invalid.  Error replies have bit 31 set and MAY carry\n"
    "a UTF-8 message for humans as their data.  Like NBD_REP_ACK they\n"
    "are final replies.\n"
    "\n"
    "When: in answer to any option, for instance NBD_OPT_LIST or\n"
    "NBD_OPT_STRUCTURED_REPLY with data, a second NBD_OPT_STARTTLS once\n"
    "TLS is up, NBD_OPT_SET_META_CONTEXT before structured replies, or\n"
    "a repeated state-changing option.\n"
    "\n"
    "Rules: it MUST answer a second STARTTLS after TLS is up, and a\n"
    "meta context request whose query runs past the option length.  The\n"
    "server SHOULD use it for SET_META_CONTEXT before structured\n"
    "replies and for data sent with options that take none (spec:\n"
    "Option reply types; NBD_OPT_STARTTLS; NBD_OPT_SET_META_CONTEXT).\n"
    "\n"
    "nbdcli: shown with the server's message.  Raises starttls-twice\n"
    "when a second STARTTLS is accepted instead, and tls-state-kept-eh\n"
    "when NBD_OPT_EXTENDED_HEADERS after STARTTLS gets this error as if\n"
    "the request from before STARTTLS were still remembered.\n" },
  { EK_REPLY, "NBD_REP_ERR_PLATFORM", "ERR_PLATFORM", { "PLATFORM" },
    NBD_REP_ERR_PLATFORM, false,
    "The option is not supported on the server's platform, or needs\n"
    "something left out at compile time (the spec's example: TLS).\n"
    "Error replies have bit 31 set and MAY carry a UTF-8 message for\n"
    "humans as their data.  Like NBD_REP_ACK they are final replies.\n"
    "\n"
    "When: in answer to any option; a reasonable answer to\n"
    "NBD_OPT_STARTTLS from a server built without TLS.\n"
    "\n"
    "Rules: none beyond those of every error reply (spec: Option reply\n"
    "types).\n"
    "\n"
    "nbdcli: shown with the server's message.\n" },
  { EK_REPLY, "NBD_REP_ERR_TLS_REQD", "ERR_TLS_REQD", { "TLS_REQD" },
    NBD_REP_ERR_TLS_REQD, false,
    "The server will not go on without TLS.  In answer to NBD_OPT_INFO\n"
    "or NBD_OPT_GO it MAY mean only that this export needs TLS (or does\n"
    "not exist).  Error replies have bit 31 set and MAY carry a UTF-8\n"
    "message for humans as their data.  Like NBD_REP_ACK they are final\n"
    "replies.\n"
    "\n"
    "When: only before TLS is up, and never from a server without TLS.\n"
    "FORCEDTLS: every option except STARTTLS (and ABORT) gets it,\n"
    "unknown options and NBD_OPT_INFO included.  SELECTIVETLS: only\n"
    "INFO, GO (and EXPORT_NAME) for TLS-only or unknown exports.\n"
    "\n"
    "Rules: a NOTLS server MUST NOT send it; no server may send it once\n"
    "TLS is up.  A FORCEDTLS server MUST NOT send NBD_REP_INFO before\n"
    "it.  The client may then send NBD_OPT_STARTTLS or end the session\n"
    "(spec: NBD_REP_ERR_TLS_REQD; TLS support; NOTLS, FORCEDTLS and\n"
    "SELECTIVETLS mode).\n"
    "\n"
    "nbdcli: shown with the server's message; `starttls' is the usual\n"
    "next step and `assert reply NBD_REP_ERR_TLS_REQD' checks for it.\n"
    "Raises tls-reqd-after-tls when it comes after a successful\n"
    "STARTTLS, tls-reqd-without-tls when the server had refused\n"
    "STARTTLS.\n" },
  { EK_REPLY, "NBD_REP_ERR_UNKNOWN", "ERR_UNKNOWN", { "UNKNOWN" },
    NBD_REP_ERR_UNKNOWN, false,
    "The requested export is not available.  Error replies have bit 31\n"
    "set and MAY carry a UTF-8 message for humans as their data.  Like\n"
    "NBD_REP_ACK they are final replies.\n"
    "\n"
    "When: in answer to NBD_OPT_INFO or NBD_OPT_GO naming an export the\n"
    "server does not have.\n"
    "\n"
    "Rules: the server SHOULD NOT send NBD_REP_INFO before it.  Before\n"
    "TLS a server MAY answer NBD_REP_ERR_TLS_REQD instead, so that\n"
    "exports cannot be enumerated without TLS (spec: NBD_OPT_INFO and\n"
    "NBD_OPT_GO).\n"
    "\n"
    "nbdcli: shown with the server's message; `list' shows the names\n"
    "the server offers.\n" },
  { EK_REPLY, "NBD_REP_ERR_SHUTDOWN", "ERR_SHUTDOWN", { "SHUTDOWN" },
    NBD_REP_ERR_SHUTDOWN, false,
    "The server is shutting down and will not continue the negotiation.\n"
    "Error replies have bit 31 set and MAY carry a UTF-8 message for\n"
    "humans as their data.  Like NBD_REP_ACK they are final replies.\n"
    "\n"
    "When: in answer to any option while the server is being shut down.\n"
    "\n"
    "Rules: a shutting-down server MAY fail the option in flight and\n"
    "SHOULD answer every further option (other than NBD_OPT_ABORT) with\n"
    "it.  A client that receives it MUST initiate a soft disconnect,\n"
    "i.e. send NBD_OPT_ABORT (spec: Termination of the session during\n"
    "option haggling).\n"
    "\n"
    "nbdcli: shown with the server's message; follow it with `abort'.\n" },
  { EK_REPLY, "NBD_REP_ERR_BLOCK_SIZE_REQD", "ERR_BLOCK_SIZE_REQD",
    { "BLOCK_SIZE_REQD" }, NBD_REP_ERR_BLOCK_SIZE_REQD, false,
    "The server will not enter transmission unless the client asks for\n"
    "NBD_INFO_BLOCK_SIZE, and so promises to obey its non-default block\n"
    "size constraints.  Error replies have bit 31 set and MAY carry a\n"
    "UTF-8 message for humans as their data.  Like NBD_REP_ACK they are\n"
    "final replies.\n"
    "\n"
    "When: in answer to NBD_OPT_INFO or NBD_OPT_GO without an\n"
    "NBD_INFO_BLOCK_SIZE request.\n"
    "\n"
    "Rules: the server MUST NOT send it when NBD_INFO_BLOCK_SIZE was\n"
    "requested, SHOULD NOT when default (or out-of-band) constraints\n"
    "apply, and SHOULD send an NBD_INFO_BLOCK_SIZE reply before it\n"
    "(spec: NBD_OPT_INFO and NBD_OPT_GO; Block size constraints).\n"
    "\n"
    "nbdcli: shown with the server's message; retry with `go\n"
    "--block-size' (or `info --block-size').\n" },
  { EK_REPLY, "NBD_REP_ERR_TOO_BIG", "ERR_TOO_BIG", { "TOO_BIG" },
    NBD_REP_ERR_TOO_BIG, false,
    "The request or its answer is too large for the server.  Error\n"
    "replies have bit 31 set and MAY carry a UTF-8 message for humans\n"
    "as their data.  Like NBD_REP_ACK they are final replies.\n"
    "\n"
    "When: typically in answer to NBD_OPT_LIST_META_CONTEXT or\n"
    "NBD_OPT_SET_META_CONTEXT with too many queries or contexts.\n"
    "\n"
    "Rules: the server SHOULD NOT use it for a LIST_META_CONTEXT with\n"
    "zero queries (spec: Option reply types; NBD_OPT_LIST_META_CONTEXT;\n"
    "NBD_OPT_SET_META_CONTEXT).\n"
    "\n"
    "nbdcli: shown with the server's message.\n" },
  { EK_REPLY, "NBD_REP_ERR_EXT_HEADER_REQD", "ERR_EXT_HEADER_REQD",
    { "EXT_HEADER_REQD" }, NBD_REP_ERR_EXT_HEADER_REQD, false,
    "From the extended-headers extension (reserved in the spec's master\n"
    "branch): either the server refuses to go on without extended\n"
    "headers, or the client asked for structured replies after extended\n"
    "headers were accepted (there is no downgrade).  Error replies have\n"
    "bit 31 set and MAY carry a UTF-8 message for humans as their data.\n"
    "Like NBD_REP_ACK they are final replies.\n"
    "\n"
    "When: in answer to NBD_OPT_GO, NBD_OPT_SET_META_CONTEXT or\n"
    "NBD_OPT_STRUCTURED_REPLY.\n"
    "\n"
    "Rules: servers SHOULD NOT require extended headers, and MUST NOT\n"
    "send it to a SET_META_CONTEXT that only asks for `base:' contexts\n"
    "(spec: extension-ext-header branch).\n"
    "\n"
    "nbdcli: shown with the server's message; `eh' negotiates extended\n"
    "headers.\n" },

  /* Information types (NBD_INFO_*, inside NBD_REP_INFO). */
  { EK_INFO, "NBD_INFO_EXPORT", "EXPORT", { NULL }, NBD_INFO_EXPORT, false,
    "The export's size in bytes (64 bits) and its transmission flags\n"
    "(16 bits): what NBD_OPT_EXPORT_NAME returns, without the zero\n"
    "padding.\n"
    "\n"
    "When: inside an NBD_REP_INFO reply to NBD_OPT_INFO or NBD_OPT_GO.\n"
    "The server sends it whether or not it was requested.\n"
    "\n"
    "Rules: the reply length MUST be 12 (2 type bytes + 8 + 2).  The\n"
    "server MUST send it before a successful NBD_REP_ACK and may not\n"
    "withhold it for policy reasons.  The flags must be consistent with\n"
    "what was negotiated (NBD_FLAG_HAS_FLAGS set, NBD_FLAG_SEND_DF only\n"
    "with structured replies, ...) (spec: NBD_INFO_EXPORT; Transmission\n"
    "flags).\n"
    "\n"
    "nbdcli: shown by `info' and `go' with the flags by name; `state'\n"
    "keeps size and flags, `assert size N' and `assert tflag NAME'\n"
    "check them.  Raises info-export-length, info-export-missing,\n"
    "has-flags-missing, df-without-sr, tls-state-kept-sr and\n"
    "fast-zero-without-write-zeroes.\n" },
  { EK_INFO, "NBD_INFO_NAME", "NAME", { NULL }, NBD_INFO_NAME, false,
    "The server's canonical name for the export, which MAY differ from\n"
    "the name the client sent; the same name NBD_REP_SERVER would list.\n"
    "\n"
    "When: inside an NBD_REP_INFO reply to NBD_OPT_INFO or NBD_OPT_GO.\n"
    "\n"
    "Rules: the reply length MUST be at least 2; the name fills the\n"
    "rest.  The server MAY omit it when the request already used the\n"
    "canonical name (spec: NBD_INFO_NAME).\n"
    "\n"
    "nbdcli: `info --name' or `go --name' requests it.  Raises\n"
    "tls-state-kept-export when, after STARTTLS, it names the export\n"
    "asked about before STARTTLS instead of the one just asked for.\n" },
  { EK_INFO, "NBD_INFO_DESCRIPTION", "DESCRIPTION", { NULL },
    NBD_INFO_DESCRIPTION, false,
    "A description of the export for humans; the same text\n"
    "NBD_REP_SERVER may carry after the name.\n"
    "\n"
    "When: inside an NBD_REP_INFO reply to NBD_OPT_INFO or NBD_OPT_GO.\n"
    "\n"
    "Rules: the reply length MUST be at least 2; the UTF-8 text fills\n"
    "the rest (spec: NBD_INFO_DESCRIPTION).\n"
    "\n"
    "nbdcli: `info --description' or `go --description' requests it.\n" },
  { EK_INFO, "NBD_INFO_BLOCK_SIZE", "BLOCK_SIZE", { NULL },
    NBD_INFO_BLOCK_SIZE, false,
    "The export's block size constraints: minimum block size, preferred\n"
    "block size and maximum payload size, 32 bits each.\n"
    "\n"
    "When: inside an NBD_REP_INFO reply to NBD_OPT_INFO or NBD_OPT_GO.\n"
    "\n"
    "Rules: the reply length MUST be 14.  The minimum is a power of 2\n"
    "from 1 to 64 KiB; the preferred size a power of 2 of at least the\n"
    "minimum and 512; the maximum payload at least the preferred size\n"
    "(0xffffffff: no fixed limit).  A server that enforces non-default\n"
    "constraints MUST send it when asked.  A client that asked for it\n"
    "in NBD_OPT_GO MUST then obey it: offsets and lengths multiples of\n"
    "the minimum, payloads no larger than the maximum (spec:\n"
    "NBD_INFO_BLOCK_SIZE; Block size constraints).\n"
    "\n"
    "nbdcli: `info --block-size' or `go --block-size' requests it;\n"
    "`state' shows it, and `read'/`write' split requests at the maximum\n"
    "payload.  Raises info-block-size-length and block-size-invalid.\n" },

  /* Handshake flags (server, 16 bits). */
  { EK_HANDSHAKE_FLAG, "NBD_FLAG_FIXED_NEWSTYLE", "FIXED_NEWSTYLE", { NULL },
    NBD_FLAG_FIXED_NEWSTYLE, true,
    "The server speaks fixed newstyle: it answers every option with\n"
    "option replies and accepts any number of options, instead of\n"
    "dropping the connection on an option it does not know.\n"
    "\n"
    "When: in the 16-bit handshake flags of the newstyle greeting\n"
    "(after NBDMAGIC and IHAVEOPT); never in an oldstyle greeting.\n"
    "\n"
    "Rules: servers that support fixed newstyle MUST set it.  Without\n"
    "it (or without the client's NBD_FLAG_C_FIXED_NEWSTYLE) the server\n"
    "MUST operate without TLS and only NBD_OPT_EXPORT_NAME is possible.\n"
    "The server MUST NOT set unknown handshake flags; the client SHOULD\n"
    "ignore them.  A man in the middle can clear it to prevent TLS\n"
    "(spec: Handshake flags; Fixed newstyle negotiation; TLS support).\n"
    "\n"
    "nbdcli: `connect' shows the handshake flags, `state' keeps them;\n"
    "nbdcli answers with NBD_FLAG_C_FIXED_NEWSTYLE unless `set\n"
    "client-flags' says otherwise.  Raises oldstyle-handshake-flags for\n"
    "an oldstyle greeting with flags above bit 15.\n" },
  { EK_HANDSHAKE_FLAG, "NBD_FLAG_NO_ZEROES", "NO_ZEROES", { NULL },
    NBD_FLAG_NO_ZEROES, true,
    "The server can leave out the 124 zero bytes that follow the export\n"
    "size and flags after NBD_OPT_EXPORT_NAME.\n"
    "\n"
    "When: in the 16-bit handshake flags of the newstyle greeting\n"
    "(after NBDMAGIC and IHAVEOPT); never in an oldstyle greeting.\n"
    "\n"
    "Rules: the padding is left out only if the client answers with\n"
    "NBD_FLAG_C_NO_ZEROES.  It affects NBD_OPT_EXPORT_NAME only: after\n"
    "NBD_OPT_GO there is never padding (spec: Handshake flags).\n"
    "\n"
    "nbdcli: `connect' shows it and sets NBD_FLAG_C_NO_ZEROES in its\n"
    "answer when it is offered (unless `set client-flags' overrides);\n"
    "`export-name' then expects 10 bytes instead of 134.\n" },

  /* Client flags (32 bits). */
  { EK_CLIENT_FLAG, "NBD_FLAG_C_FIXED_NEWSTYLE", "C_FIXED_NEWSTYLE", { NULL },
    NBD_FLAG_C_FIXED_NEWSTYLE, true,
    "The client speaks fixed newstyle, answering the server's\n"
    "NBD_FLAG_FIXED_NEWSTYLE.\n"
    "\n"
    "When: in the 32-bit client flags the client sends right after the\n"
    "newstyle greeting.\n"
    "\n"
    "Rules: clients that support fixed newstyle SHOULD set it; servers\n"
    "MAY honour fixed newstyle without it.  Without it the server MUST\n"
    "operate without TLS: no ACK to NBD_OPT_STARTTLS and no\n"
    "NBD_REP_ERR_TLS_REQD.  The server MUST drop the connection on\n"
    "client flags it does not know or did not offer (spec: Client\n"
    "flags; TLS support).\n"
    "\n"
    "nbdcli: `connect' (and `reconnect') sends it when the server\n"
    "offered NBD_FLAG_FIXED_NEWSTYLE; `set client-flags N' sends any\n"
    "bits at the next connect instead, `set client-flags auto' goes\n"
    "back to the default.\n" },
  { EK_CLIENT_FLAG, "NBD_FLAG_C_NO_ZEROES", "C_NO_ZEROES", { NULL },
    NBD_FLAG_C_NO_ZEROES, true,
    "The client asks the server to leave out the 124 zero bytes after\n"
    "the NBD_OPT_EXPORT_NAME answer.\n"
    "\n"
    "When: in the 32-bit client flags the client sends right after the\n"
    "newstyle greeting.\n"
    "\n"
    "Rules: the client MUST NOT set it unless the server set\n"
    "NBD_FLAG_NO_ZEROES (the server MUST drop the connection\n"
    "otherwise).  If set, the server MUST NOT send the padding.\n"
    "Because a man in the middle can flip it and desynchronise\n"
    "NBD_OPT_EXPORT_NAME, TLS clients SHOULD use NBD_OPT_GO (spec:\n"
    "Client flags; TLS support).\n"
    "\n"
    "nbdcli: `connect' sets it when the server offers\n"
    "NBD_FLAG_NO_ZEROES; `set client-flags N' overrides at the next\n"
    "connect.\n" },

  /* Transmission flags (16 bits). */
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_HAS_FLAGS", "HAS_FLAGS", { NULL },
    NBD_FLAG_HAS_FLAGS, true,
    "Marks the transmission flags as present.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: it MUST always be 1 (spec: Transmission flags).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  Raises has-flags-missing\n"
    "when it is 0.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_READ_ONLY", "READ_ONLY", { NULL },
    NBD_FLAG_READ_ONLY, true,
    "The export is read-only.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: the server MAY set it; when it does, it MUST fail every\n"
    "write (and SHOULD use NBD_EPERM for NBD_CMD_WRITE, NBD_CMD_TRIM\n"
    "and NBD_CMD_WRITE_ZEROES).  An export may also be read-only\n"
    "without the server knowing (spec: Transmission flags; Error\n"
    "values).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `write', `trim' and\n"
    "`zero' are still sent, so the server's error can be seen.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_SEND_FLUSH", "SEND_FLUSH", { NULL },
    NBD_FLAG_SEND_FLUSH, true,
    "Exposes NBD_CMD_FLUSH.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: the client MUST NOT send NBD_CMD_FLUSH unless it is set\n"
    "(spec: Transmission flags; NBD_CMD_FLUSH).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `flush' sends\n"
    "NBD_CMD_FLUSH (whatever the flag says).\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_SEND_FUA", "SEND_FUA", { NULL },
    NBD_FLAG_SEND_FUA, true,
    "Exposes NBD_CMD_FLAG_FUA (force unit access).\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: the client MUST NOT set NBD_CMD_FLAG_FUA unless it is set;\n"
    "when it is set the server MUST accept FUA on every command (spec:\n"
    "Transmission flags; Command flags).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `--fua' on `read',\n"
    "`write', `trim' and `zero' sets NBD_CMD_FLAG_FUA.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_ROTATIONAL", "ROTATIONAL", { NULL },
    NBD_FLAG_ROTATIONAL, true,
    "A hint that the export behaves like a rotating disk, so the client\n"
    "MAY schedule its I/O accordingly (e.g. sort requests by offset).\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: it is only a hint; nothing is required of either side\n"
    "(spec: Transmission flags).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_SEND_TRIM", "SEND_TRIM", { NULL },
    NBD_FLAG_SEND_TRIM, true,
    "Exposes NBD_CMD_TRIM.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: the client MUST NOT send NBD_CMD_TRIM unless it is set\n"
    "(spec: Transmission flags; NBD_CMD_TRIM).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `trim' sends\n"
    "NBD_CMD_TRIM.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_SEND_WRITE_ZEROES", "SEND_WRITE_ZEROES",
    { NULL }, NBD_FLAG_SEND_WRITE_ZEROES, true,
    "Exposes NBD_CMD_WRITE_ZEROES and its flag NBD_CMD_FLAG_NO_HOLE.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: the client MUST NOT send NBD_CMD_WRITE_ZEROES unless it is\n"
    "set; a server that sets it MUST support NBD_CMD_FLAG_NO_HOLE.\n"
    "NBD_FLAG_SEND_FAST_ZERO requires it (spec: Transmission flags;\n"
    "NBD_CMD_WRITE_ZEROES).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `zero' sends\n"
    "NBD_CMD_WRITE_ZEROES, `zero --no-hole' with NBD_CMD_FLAG_NO_HOLE.\n"
    "Raises fast-zero-without-write-zeroes when NBD_FLAG_SEND_FAST_ZERO\n"
    "is set without it.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_SEND_DF", "SEND_DF", { NULL },
    NBD_FLAG_SEND_DF, true,
    "The server supports NBD_CMD_FLAG_DF (\"don't fragment\") on\n"
    "NBD_CMD_READ: a read answered with at most one content chunk.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.  Meaningful only\n"
    "with structured replies.\n"
    "\n"
    "Rules: the server MUST set it if NBD_CMD_READ supports\n"
    "NBD_CMD_FLAG_DF, and MUST leave it clear if structured replies\n"
    "were not negotiated.  The client MUST NOT set NBD_CMD_FLAG_DF\n"
    "unless it is set.  Since STARTTLS discards structured replies, a\n"
    "server that sets it after STARTTLS without a new\n"
    "NBD_OPT_STRUCTURED_REPLY kept state from before TLS (the\n"
    "CVE-2021-3716 pattern) (spec: Transmission flags;\n"
    "NBD_OPT_STARTTLS).\n"
    "\n"
    "nbdcli: shown in NBD_INFO_EXPORT by `info' and `go' (and by\n"
    "`export-name' and `state'); `read --df' uses it.  Raises\n"
    "df-without-sr when it is set although structured replies were\n"
    "never negotiated, tls-state-kept-sr when they were negotiated only\n"
    "before STARTTLS.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_CAN_MULTI_CONN", "CAN_MULTI_CONN",
    { NULL }, NBD_FLAG_CAN_MULTI_CONN, true,
    "The server's cache (if any) is shared by all connections to the\n"
    "export, so a client may spread its requests over several\n"
    "connections.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: with it, the effects of NBD_CMD_FLUSH and NBD_CMD_FLAG_FUA\n"
    "MUST be visible on every connection when the reply is sent.\n"
    "Without it clients SHOULD NOT use more than one connection to the\n"
    "export (spec: Transmission flags).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_SEND_RESIZE", "SEND_RESIZE", { NULL },
    NBD_FLAG_SEND_RESIZE, true,
    "Exposes NBD_CMD_RESIZE, from the experimental RESIZE extension.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: the client MUST NOT send NBD_CMD_RESIZE unless it is set\n"
    "(spec: Transmission flags; extension-resize branch).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `cmd 8 NEWSIZE 0' sends\n"
    "NBD_CMD_RESIZE.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_SEND_CACHE", "SEND_CACHE", { NULL },
    NBD_FLAG_SEND_CACHE, true,
    "The server understands NBD_CMD_CACHE.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: only advisory: some servers support NBD_CMD_CACHE without\n"
    "it, and it does not promise that caching helps.  A server that\n"
    "sets it MUST reject command flags it does not know on\n"
    "NBD_CMD_CACHE (spec: Transmission flags; NBD_CMD_CACHE).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `cache' sends\n"
    "NBD_CMD_CACHE.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_SEND_FAST_ZERO", "SEND_FAST_ZERO",
    { NULL }, NBD_FLAG_SEND_FAST_ZERO, true,
    "NBD_CMD_WRITE_ZEROES supports NBD_CMD_FLAG_FAST_ZERO: the client\n"
    "can learn whether zeroing is faster than writing.\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: the server MUST set it if it supports\n"
    "NBD_CMD_FLAG_FAST_ZERO, and MUST leave it 0 if\n"
    "NBD_FLAG_SEND_WRITE_ZEROES is 0.  The client MUST NOT set\n"
    "NBD_CMD_FLAG_FAST_ZERO unless it is set (spec: Transmission flags;\n"
    "NBD_CMD_WRITE_ZEROES).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `zero --fast-zero' uses\n"
    "it.  Raises fast-zero-without-write-zeroes when it is set without\n"
    "NBD_FLAG_SEND_WRITE_ZEROES.\n" },
  { EK_TRANSMISSION_FLAG, "NBD_FLAG_BLOCK_STATUS_PAYLOAD",
    "BLOCK_STATUS_PAYLOAD", { "NBD_FLAG_BLOCK_STAT_PAYLOAD" },
    NBD_FLAG_BLOCK_STATUS_PAYLOAD, true,
    "From the extended-headers extension: NBD_CMD_BLOCK_STATUS may\n"
    "carry a payload (with NBD_CMD_FLAG_PAYLOAD_LEN) of a 64-bit effect\n"
    "length and a list of 32-bit context ids that limits the answer to\n"
    "those contexts.  qemu spells it NBD_FLAG_BLOCK_STAT_PAYLOAD (same\n"
    "bit).\n"
    "\n"
    "When: in the 16-bit transmission flags the server sends in\n"
    "NBD_INFO_EXPORT (NBD_OPT_INFO, NBD_OPT_GO), after\n"
    "NBD_OPT_EXPORT_NAME, or in an oldstyle greeting.\n"
    "\n"
    "Rules: the server MUST NOT set it without extended headers and\n"
    "SHOULD NOT without negotiated meta contexts.  A payload with\n"
    "unknown or duplicate ids is consumed and answered with NBD_EINVAL\n"
    "(spec: extension-ext-header branch).\n"
    "\n"
    "nbdcli: shown by name by `info', `go' and `export-name', and by\n"
    "`state'; `assert tflag NAME' checks it.  `cmd 7 OFFSET LENGTH\n"
    "--flags 0x20 PAYLOAD' sends such a request.\n" },

  /* Commands (NBD_CMD_*). */
  { EK_COMMAND, "NBD_CMD_READ", "READ", { NULL }, NBD_CMD_READ, false,
    "Reads LENGTH bytes at OFFSET.\n"
    "\n"
    "When: in the transmission phase; always allowed.  Offset and\n"
    "length must respect the block size constraints and stay within the\n"
    "export.\n"
    "\n"
    "Rules: without structured replies the answer is a simple reply\n"
    "followed by exactly LENGTH bytes, or an error with no data; an\n"
    "error found after a success header was sent MUST end the\n"
    "connection.  With structured replies the server MUST NOT use a\n"
    "simple reply (not even for an early NBD_EINVAL); its content\n"
    "chunks (OFFSET_DATA, OFFSET_HOLE) lie inside the request, do not\n"
    "overlap, and cover all of it unless an error chunk is sent.  A\n"
    "length of 0 SHOULD NOT be requested.  Out of range or misaligned\n"
    "requests SHOULD get NBD_EINVAL (spec: NBD_CMD_READ).\n"
    "\n"
    "nbdcli: `read OFFSET LENGTH [--df] [--fua] [--out FILE]\n"
    "[--single]'.  Raises read-incomplete, chunk-outside-request,\n"
    "chunk-overlap, simple-reply-to-read-with-sr, hole-with-df and\n"
    "cookie-mismatch.\n" },
  { EK_COMMAND, "NBD_CMD_WRITE", "WRITE", { NULL }, NBD_CMD_WRITE, false,
    "Writes LENGTH bytes at OFFSET; the data follows the request\n"
    "header.\n"
    "\n"
    "When: in the transmission phase.\n"
    "\n"
    "Rules: the server MAY reply before the data is durable unless\n"
    "NBD_CMD_FLAG_FUA is set.  On a read-only export it MUST fail (and\n"
    "SHOULD use NBD_EPERM); beyond the end of the export it SHOULD use\n"
    "NBD_ENOSPC.  A length of 0 SHOULD NOT be requested.  With extended\n"
    "headers the request MUST carry NBD_CMD_FLAG_PAYLOAD_LEN (spec:\n"
    "NBD_CMD_WRITE).\n"
    "\n"
    "nbdcli: `write OFFSET DATA... | --file FILE | --pattern BYTE\n"
    "--length N [--fua] [--single]'.\n" },
  { EK_COMMAND, "NBD_CMD_DISC", "DISC", { NULL }, NBD_CMD_DISC, false,
    "Ends the transmission phase: the client's soft disconnect.\n"
    "\n"
    "When: in the transmission phase; the client SHOULD first wait for\n"
    "its requests in flight.\n"
    "\n"
    "Rules: offset and length MUST be 0.  There is no reply: the server\n"
    "MUST finish the outstanding requests, shut down TLS if running and\n"
    "close the connection.  The client MUST NOT send anything after it.\n"
    "A client that receives NBD_ESHUTDOWN MUST send it (spec:\n"
    "NBD_CMD_DISC; Terminating the transmission phase).\n"
    "\n"
    "nbdcli: `disc' sends it and waits for the server to close.  Raises\n"
    "reply-to-disc when anything arrives after it.\n" },
  { EK_COMMAND, "NBD_CMD_FLUSH", "FLUSH", { NULL }, NBD_CMD_FLUSH, false,
    "Makes every write that was already answered durable.\n"
    "\n"
    "When: in the transmission phase, only if NBD_FLAG_SEND_FLUSH is\n"
    "set.\n"
    "\n"
    "Rules: offset and length MUST be 0.  The server MUST NOT send a\n"
    "successful reply before every write it has already replied to is\n"
    "on permanent storage (spec: NBD_CMD_FLUSH; Ordering of messages\n"
    "and writes).\n"
    "\n"
    "nbdcli: `flush'.\n" },
  { EK_COMMAND, "NBD_CMD_TRIM", "TRIM", { NULL }, NBD_CMD_TRIM, false,
    "Tells the server that a range is no longer needed (discard).\n"
    "\n"
    "When: in the transmission phase, only if NBD_FLAG_SEND_TRIM is\n"
    "set.\n"
    "\n"
    "Rules: it is a hint: the server MAY discard all, part or none of\n"
    "the range.  Afterwards the client MUST NOT assume anything about\n"
    "the contents until it writes them again.  NBD_CMD_FLAG_FUA is\n"
    "allowed.  On a read-only export the server SHOULD answer NBD_EPERM\n"
    "(spec: NBD_CMD_TRIM).\n"
    "\n"
    "nbdcli: `trim OFFSET LENGTH [--fua]'.\n" },
  { EK_COMMAND, "NBD_CMD_CACHE", "CACHE", { NULL }, NBD_CMD_CACHE, false,
    "Advises the server that the client plans to access a range, so it\n"
    "can prefetch it.\n"
    "\n"
    "When: in the transmission phase; meant for servers that set\n"
    "NBD_FLAG_SEND_CACHE.\n"
    "\n"
    "Rules: success promises nothing and failure changes nothing: the\n"
    "command MUST NOT change what later reads and writes do.  Some\n"
    "clients send it without NBD_FLAG_SEND_CACHE (without flags); a\n"
    "server that sets the flag MUST reject command flags it does not\n"
    "know (spec: NBD_CMD_CACHE).\n"
    "\n"
    "nbdcli: `cache OFFSET LENGTH'.\n" },
  { EK_COMMAND, "NBD_CMD_WRITE_ZEROES", "WRITE_ZEROES", { NULL },
    NBD_CMD_WRITE_ZEROES, false,
    "Writes zeroes over a range without sending them.\n"
    "\n"
    "When: in the transmission phase, only if\n"
    "NBD_FLAG_SEND_WRITE_ZEROES is set.\n"
    "\n"
    "Rules: the range MUST read back as zeroes; the server MAY punch a\n"
    "hole unless NBD_CMD_FLAG_NO_HOLE is set.  With\n"
    "NBD_CMD_FLAG_FAST_ZERO (only if NBD_FLAG_SEND_FAST_ZERO) the\n"
    "server MUST fail quickly with NBD_ENOTSUP unless zeroing is faster\n"
    "than writing; without that flag it MUST NOT fail with NBD_ENOTSUP.\n"
    "Beyond the end it SHOULD answer NBD_ENOSPC, on a read-only export\n"
    "NBD_EPERM (spec: NBD_CMD_WRITE_ZEROES).\n"
    "\n"
    "nbdcli: `zero OFFSET LENGTH [--no-hole] [--fast-zero] [--fua]'.\n" },
  { EK_COMMAND, "NBD_CMD_BLOCK_STATUS", "BLOCK_STATUS", { NULL },
    NBD_CMD_BLOCK_STATUS, false,
    "Asks for the status of a range (e.g. allocated or hole, zero or\n"
    "data) in every selected metadata context.\n"
    "\n"
    "When: in the transmission phase, only with structured replies (or\n"
    "extended headers) and contexts selected by the last\n"
    "NBD_OPT_SET_META_CONTEXT for the same export, with no STARTTLS\n"
    "after it.\n"
    "\n"
    "Rules: a successful answer is a structured reply with exactly one\n"
    "NBD_REPLY_TYPE_BLOCK_STATUS chunk (BLOCK_STATUS_EXT with extended\n"
    "headers) per selected context, in any order.  The length is a\n"
    "hint.  Without selected contexts, or beyond the end of the export,\n"
    "the server SHOULD answer NBD_EINVAL (spec: NBD_CMD_BLOCK_STATUS;\n"
    "Metadata querying).\n"
    "\n"
    "nbdcli: `block-status OFFSET LENGTH [--req-one]', showing each\n"
    "extent in the context's terms.  Raises\n"
    "block-status-unknown-context, block-status-missing-context,\n"
    "block-status-duplicate-context, block-status-empty-extent,\n"
    "block-status-no-extents, block-status-beyond-request,\n"
    "block-status-req-one and tls-state-kept-meta.\n" },
  { EK_COMMAND, "NBD_CMD_RESIZE", "RESIZE", { NULL }, NBD_CMD_RESIZE, false,
    "Asks the server to change the export's size; from the experimental\n"
    "RESIZE extension.  The new size travels in the offset field.\n"
    "\n"
    "When: in the transmission phase, only if NBD_FLAG_SEND_RESIZE is\n"
    "set.\n"
    "\n"
    "Rules: it is experimental; servers that do not implement it SHOULD\n"
    "answer NBD_EINVAL, as for any unknown command (spec:\n"
    "extension-resize branch; Error values).\n"
    "\n"
    "nbdcli: no named command; `cmd 8 NEWSIZE 0' sends it.\n" },

  /* Command flags (16 bits). */
  { EK_COMMAND_FLAG, "NBD_CMD_FLAG_FUA", "FUA", { NULL }, NBD_CMD_FLAG_FUA,
    true,
    "Force unit access: the server does not reply until the data\n"
    "written by this command is on permanent storage.\n"
    "\n"
    "When: in the 16-bit flags field of a transmission request, only if\n"
    "NBD_FLAG_SEND_FUA is set.  Meaningful for NBD_CMD_WRITE,\n"
    "NBD_CMD_WRITE_ZEROES and NBD_CMD_TRIM.\n"
    "\n"
    "Rules: with NBD_FLAG_SEND_FUA the server MUST accept it on every\n"
    "command (it may ignore it where nothing is written); the client\n"
    "SHOULD NOT set it on commands that do not write.  The server MUST\n"
    "NOT reply before the command's writes are durable (spec: Command\n"
    "flags; Ordering of messages and writes).\n"
    "\n"
    "nbdcli: `--fua' on `read', `write', `trim' and `zero'; `cmd ...\n"
    "--flags 1'.\n" },
  { EK_COMMAND_FLAG, "NBD_CMD_FLAG_NO_HOLE", "NO_HOLE", { NULL },
    NBD_CMD_FLAG_NO_HOLE, true,
    "The zeroed range MUST end up allocated: the server may not punch a\n"
    "hole for it.\n"
    "\n"
    "When: in the 16-bit flags field of a transmission request, only on\n"
    "NBD_CMD_WRITE_ZEROES (which needs NBD_FLAG_SEND_WRITE_ZEROES);\n"
    "NBD_FLAG_SEND_TRIM is not needed.\n"
    "\n"
    "Rules: a server that sets NBD_FLAG_SEND_WRITE_ZEROES MUST support\n"
    "it.  On other commands the server SHOULD answer NBD_EINVAL (spec:\n"
    "Command flags; NBD_CMD_WRITE_ZEROES).\n"
    "\n"
    "nbdcli: `zero --no-hole'; `cmd ... --flags 2'.\n" },
  { EK_COMMAND_FLAG, "NBD_CMD_FLAG_DF", "DF", { NULL }, NBD_CMD_FLAG_DF, true,
    "\"Don't fragment\": the read is answered with at most one content\n"
    "chunk, so the client does not have to reassemble it.\n"
    "\n"
    "When: in the 16-bit flags field of a transmission request, only on\n"
    "NBD_CMD_READ and only if NBD_FLAG_SEND_DF is set (which needs\n"
    "structured replies).\n"
    "\n"
    "Rules: the server MUST send at most one content chunk, and MUST\n"
    "send data and holes together as NBD_REPLY_TYPE_OFFSET_DATA with\n"
    "explicit zeroes.  It MAY refuse a long read with NBD_EOVERFLOW\n"
    "(then without content) but MUST support DF reads of up to 65536\n"
    "bytes (spec: Command flags; NBD_CMD_READ).\n"
    "\n"
    "nbdcli: `read --df'; `cmd ... --flags 4'.  Raises hole-with-df\n"
    "when an OFFSET_HOLE chunk answers a DF read.\n" },
  { EK_COMMAND_FLAG, "NBD_CMD_FLAG_REQ_ONE", "REQ_ONE", { NULL },
    NBD_CMD_FLAG_REQ_ONE, true,
    "Asks for a single extent per metadata context.\n"
    "\n"
    "When: in the 16-bit flags field of a transmission request, only on\n"
    "NBD_CMD_BLOCK_STATUS.\n"
    "\n"
    "Rules: every block status chunk in the answer MUST then hold\n"
    "exactly one extent, no longer than the requested length (spec:\n"
    "Command flags; NBD_REPLY_TYPE_BLOCK_STATUS).\n"
    "\n"
    "nbdcli: `block-status --req-one'; `cmd ... --flags 8'.  Raises\n"
    "block-status-req-one when a chunk breaks the rule.\n" },
  { EK_COMMAND_FLAG, "NBD_CMD_FLAG_FAST_ZERO", "FAST_ZERO", { NULL },
    NBD_CMD_FLAG_FAST_ZERO, true,
    "Zero only if it is fast: the server fails at once with NBD_ENOTSUP\n"
    "unless writing zeroes is quicker than an equivalent write.\n"
    "\n"
    "When: in the 16-bit flags field of a transmission request, only on\n"
    "NBD_CMD_WRITE_ZEROES and only if NBD_FLAG_SEND_FAST_ZERO is set.\n"
    "\n"
    "Rules: the server MUST fail quickly with NBD_ENOTSUP when it\n"
    "cannot zero faster than it writes, and SHOULD NOT change the data\n"
    "when it fails that way.  A server without NBD_FLAG_SEND_FAST_ZERO\n"
    "SHOULD answer the flag with NBD_EINVAL (spec: Command flags;\n"
    "NBD_CMD_WRITE_ZEROES).\n"
    "\n"
    "nbdcli: `zero --fast-zero'; `cmd ... --flags 16'.\n" },
  { EK_COMMAND_FLAG, "NBD_CMD_FLAG_PAYLOAD_LEN", "PAYLOAD_LEN", { NULL },
    NBD_CMD_FLAG_PAYLOAD_LEN, true,
    "From the extended-headers extension: the request's length field is\n"
    "the length of a payload that follows the header.\n"
    "\n"
    "When: in the 16-bit flags field of a transmission request, only\n"
    "with extended headers.\n"
    "\n"
    "Rules: NBD_CMD_WRITE MUST set it; compact requests MUST NOT.\n"
    "NBD_CMD_BLOCK_STATUS may use it when the server set\n"
    "NBD_FLAG_BLOCK_STATUS_PAYLOAD.  An unexpected payload is consumed\n"
    "and answered with NBD_EINVAL (spec: extension-ext-header branch).\n"
    "\n"
    "nbdcli: set by `write' when extended headers are negotiated; `cmd\n"
    "... --flags 0x20' sets it on any request.\n" },

  /* Structured reply flags. */
  { EK_REPLY_FLAG, "NBD_REPLY_FLAG_DONE", "DONE", { NULL },
    NBD_REPLY_FLAG_DONE, true,
    "Marks the last chunk of a structured (or extended) reply.\n"
    "\n"
    "When: in the 16-bit flags of every structured reply chunk.\n"
    "\n"
    "Rules: the server MUST clear it while more chunks of the same\n"
    "reply follow and MUST set it on the last one; NBD_REPLY_TYPE_NONE\n"
    "MUST always have it.  A chunk MUST NOT be marked final while an\n"
    "error may still be found.  No other reply flags are defined;\n"
    "clients MUST ignore unknown ones (spec: Structured reply flags).\n"
    "\n"
    "nbdcli: shown on every chunk by the transmission commands and\n"
    "`trace'.  Raises none-without-done and reply-flags-unknown.\n" },

  /* Structured reply types (NBD_REPLY_TYPE_*). */
  { EK_REPLY_TYPE, "NBD_REPLY_TYPE_NONE", "NONE", { NULL },
    NBD_REPLY_TYPE_NONE, false,
    "An empty final chunk: the request succeeded if no error chunk came\n"
    "before it.\n"
    "\n"
    "When: as the type of a structured reply chunk, only after\n"
    "NBD_OPT_STRUCTURED_REPLY (or extended headers); valid for any\n"
    "request.\n"
    "\n"
    "Rules: the length MUST be 0 and NBD_REPLY_FLAG_DONE MUST be set,\n"
    "so it appears at most once per reply (spec: NBD_REPLY_TYPE_NONE).\n"
    "\n"
    "nbdcli: shown by the transmission commands.  Raises\n"
    "none-without-done and chunk-length.\n" },
  { EK_REPLY_TYPE, "NBD_REPLY_TYPE_OFFSET_DATA", "OFFSET_DATA", { NULL },
    NBD_REPLY_TYPE_OFFSET_DATA, false,
    "A content chunk with data: a 64-bit offset (from the start of the\n"
    "export), then the bytes read there.\n"
    "\n"
    "When: as the type of a structured reply chunk, only after\n"
    "NBD_OPT_STRUCTURED_REPLY (or extended headers); only in answer to\n"
    "NBD_CMD_READ.\n"
    "\n"
    "Rules: the length MUST be at least 9.  The data MUST lie inside\n"
    "the requested range and MUST NOT overlap earlier content or error\n"
    "chunks.  With NBD_CMD_FLAG_DF there is at most one content chunk\n"
    "(spec: NBD_REPLY_TYPE_OFFSET_DATA).\n"
    "\n"
    "nbdcli: `read' shows it as a hexdump or writes it with `--out\n"
    "FILE'.  Raises chunk-length, chunk-outside-request, chunk-overlap,\n"
    "chunk-type-for-command and read-incomplete.\n" },
  { EK_REPLY_TYPE, "NBD_REPLY_TYPE_OFFSET_HOLE", "OFFSET_HOLE", { NULL },
    NBD_REPLY_TYPE_OFFSET_HOLE, false,
    "A content chunk for a hole: a 64-bit offset and a 32-bit size; the\n"
    "range reads as zeroes.\n"
    "\n"
    "When: as the type of a structured reply chunk, only after\n"
    "NBD_OPT_STRUCTURED_REPLY (or extended headers); only in answer to\n"
    "NBD_CMD_READ without NBD_CMD_FLAG_DF.\n"
    "\n"
    "Rules: the length MUST be exactly 12 and the size nonzero; the\n"
    "hole MUST lie inside the requested range and not overlap earlier\n"
    "content or error chunks (spec: NBD_REPLY_TYPE_OFFSET_HOLE).\n"
    "\n"
    "nbdcli: `read' shows it as a hole.  Raises hole-with-df,\n"
    "chunk-length, chunk-outside-request and chunk-overlap.\n" },
  { EK_REPLY_TYPE, "NBD_REPLY_TYPE_BLOCK_STATUS", "BLOCK_STATUS", { NULL },
    NBD_REPLY_TYPE_BLOCK_STATUS, false,
    "The status of consecutive extents in one metadata context: a\n"
    "32-bit context id, then pairs of 32-bit extent length and 32-bit\n"
    "status flags, starting at the requested offset.  (The reference\n"
    "implementation's nbd.h says 3; the spec says 5.)\n"
    "\n"
    "When: as the type of a structured reply chunk, only after\n"
    "NBD_OPT_STRUCTURED_REPLY (or extended headers); only in answer to\n"
    "NBD_CMD_BLOCK_STATUS, and only without extended headers.\n"
    "\n"
    "Rules: the length is 4 + 8n with n >= 1; extent lengths are\n"
    "nonzero.  Exactly one chunk per selected context.  With\n"
    "NBD_CMD_FLAG_REQ_ONE it holds one extent no longer than the\n"
    "request; otherwise the first n-1 extents stay below the requested\n"
    "length and only the last may reach past it.  SHOULD NOT exceed\n"
    "2^20 extents; extent lengths SHOULD be multiples of 512 and of the\n"
    "minimum block size (spec: NBD_REPLY_TYPE_BLOCK_STATUS).\n"
    "\n"
    "nbdcli: `block-status' shows each extent with its flags in the\n"
    "context's terms.  Raises block-status-unknown-context,\n"
    "block-status-empty-extent, block-status-no-extents,\n"
    "block-status-beyond-request, block-status-req-one,\n"
    "block-status-duplicate-context, block-status-missing-context,\n"
    "block-status-compact-with-eh and tls-state-kept-meta.\n" },
  { EK_REPLY_TYPE, "NBD_REPLY_TYPE_BLOCK_STATUS_EXT", "BLOCK_STATUS_EXT",
    { NULL }, NBD_REPLY_TYPE_BLOCK_STATUS_EXT, false,
    "From the extended-headers extension: block status with 64-bit\n"
    "values: a 32-bit context id, a 32-bit extent count, then pairs of\n"
    "64-bit extent length and 64-bit status.\n"
    "\n"
    "When: as the type of a structured reply chunk, only after\n"
    "NBD_OPT_STRUCTURED_REPLY (or extended headers); only in answer to\n"
    "NBD_CMD_BLOCK_STATUS, and only with extended headers.\n"
    "\n"
    "Rules: the length is 8 + 16n with n >= 1 and matching the count;\n"
    "extent lengths are nonzero.  With extended headers it is the only\n"
    "block status chunk allowed.  For 32-bit contexts (all of `base:')\n"
    "the upper 32 status bits MUST be 0 (spec: extension-ext-header\n"
    "branch).\n"
    "\n"
    "nbdcli: `block-status' shows it like NBD_REPLY_TYPE_BLOCK_STATUS.\n"
    "Raises block-status-ext-without-eh and the block status checks.\n" },
  { EK_REPLY_TYPE, "NBD_REPLY_TYPE_ERROR", "ERROR", { NULL },
    NBD_REPLY_TYPE_ERROR, false,
    "An error chunk: a 32-bit error value (NBD_E*), a 16-bit message\n"
    "length, then the message.  Error chunk types have bit 15 set.  A\n"
    "client that gets an unknown type with bit 15 set treats the reply\n"
    "as failed and may go on; any other unknown type MUST end the\n"
    "connection.\n"
    "\n"
    "When: as the type of a structured reply chunk, only after\n"
    "NBD_OPT_STRUCTURED_REPLY (or extended headers); valid for any\n"
    "request.\n"
    "\n"
    "Rules: the length MUST be at least 6, the error MUST be nonzero\n"
    "and the message length at most the chunk length - 6.  After it the\n"
    "client may assume nothing about partial success; it SHOULD appear\n"
    "at most once per reply (spec: NBD_REPLY_TYPE_ERROR).\n"
    "\n"
    "nbdcli: shown with the error by name and the message.  Raises\n"
    "error-value-zero, error-value-undefined and chunk-length.\n" },
  { EK_REPLY_TYPE, "NBD_REPLY_TYPE_ERROR_OFFSET", "ERROR_OFFSET", { NULL },
    NBD_REPLY_TYPE_ERROR_OFFSET, false,
    "An error chunk for one offset: error value, message length,\n"
    "message, then the 64-bit offset where the error happened.  Error\n"
    "chunk types have bit 15 set.  A client that gets an unknown type\n"
    "with bit 15 set treats the reply as failed and may go on; any\n"
    "other unknown type MUST end the connection.\n"
    "\n"
    "When: as the type of a structured reply chunk, only after\n"
    "NBD_OPT_STRUCTURED_REPLY (or extended headers); valid for\n"
    "NBD_CMD_READ, NBD_CMD_WRITE, NBD_CMD_TRIM, NBD_CMD_CACHE,\n"
    "NBD_CMD_WRITE_ZEROES and NBD_CMD_BLOCK_STATUS.\n"
    "\n"
    "Rules: the length MUST be at least 14, the error nonzero, and the\n"
    "offset inside the requested range.  It MAY appear several times,\n"
    "but the same offset SHOULD NOT repeat (spec:\n"
    "NBD_REPLY_TYPE_ERROR_OFFSET).\n"
    "\n"
    "nbdcli: shown with the error by name, the message and the offset.\n"
    "Raises error-value-zero, error-value-undefined, chunk-length and\n"
    "chunk-outside-request.\n" },

  /* Error values. */
  { EK_ERROR, "NBD_EPERM", "EPERM", { NULL }, NBD_EPERM, false,
    "Operation not permitted.\n"
    "\n"
    "When: in the error field of a simple reply, or of an\n"
    "NBD_REPLY_TYPE_ERROR or NBD_REPLY_TYPE_ERROR_OFFSET chunk.\n"
    "\n"
    "Rules: the server SHOULD use it for NBD_CMD_WRITE, NBD_CMD_TRIM\n"
    "and NBD_CMD_WRITE_ZEROES on a read-only export (spec: Error\n"
    "values).\n"
    "\n"
    "nbdcli: shown in replies by name and number.  Raises\n"
    "error-value-undefined for values the spec does not define.\n" },
  { EK_ERROR, "NBD_EIO", "EIO", { NULL }, NBD_EIO, false,
    "Input/output error.\n"
    "\n"
    "When: in the error field of a simple reply, or of an\n"
    "NBD_REPLY_TYPE_ERROR or NBD_REPLY_TYPE_ERROR_OFFSET chunk.\n"
    "\n"
    "Rules: the generic failure of the backing storage (spec: Error\n"
    "values).\n"
    "\n"
    "nbdcli: shown in replies by name and number.  Raises\n"
    "error-value-undefined for values the spec does not define.\n" },
  { EK_ERROR, "NBD_ENOMEM", "ENOMEM", { NULL }, NBD_ENOMEM, false,
    "Cannot allocate memory.\n"
    "\n"
    "When: in the error field of a simple reply, or of an\n"
    "NBD_REPLY_TYPE_ERROR or NBD_REPLY_TYPE_ERROR_OFFSET chunk.\n"
    "\n"
    "Rules: the server SHOULD NOT use it if at all possible (spec:\n"
    "Error values).\n"
    "\n"
    "nbdcli: shown in replies by name and number.  Raises\n"
    "error-value-undefined for values the spec does not define.\n" },
  { EK_ERROR, "NBD_EINVAL", "EINVAL", { NULL }, NBD_EINVAL, false,
    "Invalid argument.\n"
    "\n"
    "When: in the error field of a simple reply, or of an\n"
    "NBD_REPLY_TYPE_ERROR or NBD_REPLY_TYPE_ERROR_OFFSET chunk.\n"
    "\n"
    "Rules: the server SHOULD use it for an unknown command, an unknown\n"
    "command flag or one not documented for the command, a read or trim\n"
    "beyond the end of the export, a request not aligned to the minimum\n"
    "block size, and NBD_CMD_BLOCK_STATUS without selected contexts or\n"
    "beyond the end.  Clients SHOULD treat an error value they do not\n"
    "know as NBD_EINVAL rather than disconnect (spec: Error values).\n"
    "\n"
    "nbdcli: shown in replies by name and number.  Raises\n"
    "error-value-undefined for values the spec does not define.\n" },
  { EK_ERROR, "NBD_ENOSPC", "ENOSPC", { NULL }, NBD_ENOSPC, false,
    "No space left on device.\n"
    "\n"
    "When: in the error field of a simple reply, or of an\n"
    "NBD_REPLY_TYPE_ERROR or NBD_REPLY_TYPE_ERROR_OFFSET chunk.\n"
    "\n"
    "Rules: the server SHOULD use it for a write or write-zeroes beyond\n"
    "the end of the export, and SHOULD map EDQUOT and EFBIG to it.  A\n"
    "server that supports base:allocation MUST NOT use it for writes to\n"
    "extents reported as allocated (spec: Error values; base:allocation\n"
    "metadata context).\n"
    "\n"
    "nbdcli: shown in replies by name and number.  Raises\n"
    "error-value-undefined for values the spec does not define.\n" },
  { EK_ERROR, "NBD_EOVERFLOW", "EOVERFLOW", { NULL }, NBD_EOVERFLOW, false,
    "Value too large.\n"
    "\n"
    "When: in the error field of a simple reply, or of an\n"
    "NBD_REPLY_TYPE_ERROR or NBD_REPLY_TYPE_ERROR_OFFSET chunk.\n"
    "\n"
    "Rules: the server SHOULD NOT use it except for an NBD_CMD_READ\n"
    "with NBD_CMD_FLAG_DF too long to send in one chunk (and for\n"
    "commands without payload that exceed the maximum block size)\n"
    "(spec: Error values; NBD_CMD_FLAG_DF; Block size constraints).\n"
    "\n"
    "nbdcli: shown in replies by name and number.  Raises\n"
    "error-value-undefined for values the spec does not define.\n" },
  { EK_ERROR, "NBD_ENOTSUP", "ENOTSUP", { NULL }, NBD_ENOTSUP, false,
    "Operation not supported.\n"
    "\n"
    "When: in the error field of a simple reply, or of an\n"
    "NBD_REPLY_TYPE_ERROR or NBD_REPLY_TYPE_ERROR_OFFSET chunk.\n"
    "\n"
    "Rules: the server SHOULD NOT use it except to fail an\n"
    "NBD_CMD_WRITE_ZEROES with NBD_CMD_FLAG_FAST_ZERO, and MUST NOT use\n"
    "it for a write-zeroes without that flag when it advertises\n"
    "NBD_FLAG_SEND_FAST_ZERO (spec: Error values;\n"
    "NBD_CMD_WRITE_ZEROES).\n"
    "\n"
    "nbdcli: shown in replies by name and number.  Raises\n"
    "error-value-undefined for values the spec does not define.\n" },
  { EK_ERROR, "NBD_ESHUTDOWN", "ESHUTDOWN", { NULL }, NBD_ESHUTDOWN, false,
    "The server is shutting down.\n"
    "\n"
    "When: in the error field of a simple reply, or of an\n"
    "NBD_REPLY_TYPE_ERROR or NBD_REPLY_TYPE_ERROR_OFFSET chunk.\n"
    "\n"
    "Rules: a shutting-down server SHOULD use it for requests it will\n"
    "not serve; a client that receives it MUST initiate a soft\n"
    "disconnect with NBD_CMD_DISC (spec: Error values; Terminating the\n"
    "transmission phase).\n"
    "\n"
    "nbdcli: shown in replies by name and number.  Raises\n"
    "error-value-undefined for values the spec does not define.  Follow\n"
    "it with `disc'.\n" },

  /* Magic numbers. */
  { EK_MAGIC, "NBDMAGIC", NULL, { "INIT_PASSWD" }, NBD_MAGIC, false,
    "The ASCII bytes \"NBDMAGIC\", also called INIT_PASSWD: the first 8\n"
    "bytes every NBD server sends.\n"
    "\n"
    "When: at the start of the server's greeting, oldstyle and newstyle\n"
    "alike; IHAVEOPT (newstyle) or cliserv_magic (oldstyle) follows.\n"
    "\n"
    "Rules: a peer that sends anything else is not an NBD server (spec:\n"
    "Oldstyle negotiation; Newstyle negotiation).\n"
    "\n"
    "nbdcli: `connect' reads and checks it; `trace' shows it.\n" },
  { EK_MAGIC, "cliserv_magic", NULL, { NULL }, NBD_OLD_VERSION, false,
    "The second field of the obsolete oldstyle greeting (152 bytes:\n"
    "NBDMAGIC, this, the 64-bit export size, 32-bit flags and 124\n"
    "zeroes).  There is no option haggling: the client is in the\n"
    "transmission phase at once.\n"
    "\n"
    "When: only in oldstyle greetings, which nbd-server dropped in\n"
    "3.10; the newstyle port SHOULD refuse oldstyle.\n"
    "\n"
    "Rules: handshake flags MUST NOT be set in oldstyle; the low 16\n"
    "bits of the flags are the transmission flags (spec: Oldstyle\n"
    "negotiation).\n"
    "\n"
    "nbdcli: `connect' accepts an oldstyle greeting and shows it.\n"
    "Raises oldstyle-handshake-flags.\n" },
  { EK_MAGIC, "IHAVEOPT", NULL, { "opts_magic" }, NBD_NEW_VERSION, false,
    "The ASCII bytes \"IHAVEOPT\": the second field of the newstyle\n"
    "greeting, and the first 8 bytes of every option the client sends\n"
    "(then the 32-bit option number, the 32-bit data length and the\n"
    "data).\n"
    "\n"
    "When: in the newstyle greeting after NBDMAGIC (followed by the\n"
    "16-bit handshake flags), and at the start of every option request\n"
    "during option haggling.\n"
    "\n"
    "Rules: the option length lets a server skip options it does not\n"
    "know; a fixed-newstyle server MUST answer them and keep parsing\n"
    "(spec: Newstyle negotiation).\n"
    "\n"
    "nbdcli: `connect' checks it in the greeting; every option command\n"
    "and `opt' send it; `trace' shows it.\n" },
  { EK_MAGIC, "NBD_OPT_REPLY_MAGIC", "option-reply-magic",
    { "NBD_REP_MAGIC", "rep_magic" }, NBD_OPT_REPLY_MAGIC, false,
    "The option reply magic: the first 8 bytes of every fixed-newstyle\n"
    "option reply (20-byte header: magic, the option it answers, the\n"
    "32-bit reply type, the 32-bit data length, then the data).\n"
    "\n"
    "When: at the start of every server reply to an option other than\n"
    "NBD_OPT_EXPORT_NAME.\n"
    "\n"
    "Rules: the reply echoes the option number; each option gets\n"
    "exactly one final reply and the client MUST NOT send another\n"
    "option before it; the server sends nothing unasked (spec: Fixed\n"
    "newstyle negotiation).\n"
    "\n"
    "nbdcli: every option command reads replies; `trace' shows the\n"
    "header.  Raises reply-magic (the framing is then lost),\n"
    "reply-echo, unsolicited-reply, two-finals and unsolicited-data.\n" },
  { EK_MAGIC, "NBD_REQUEST_MAGIC", NULL, { NULL }, NBD_REQUEST_MAGIC, false,
    "The magic of a compact transmission request (28-byte header:\n"
    "magic, 16-bit command flags, 16-bit type, 64-bit cookie, 64-bit\n"
    "offset, 32-bit length, then the data of NBD_CMD_WRITE).\n"
    "\n"
    "When: every request in the transmission phase unless extended\n"
    "headers were negotiated.\n"
    "\n"
    "Rules: the cookie (formerly handle) is echoed by the replies and\n"
    "SHOULD be unique among requests in flight.  0x12560953 (historic)\n"
    "and 0x25609514 (nbd-server's transaction log) are reserved (spec:\n"
    "Request message).\n"
    "\n"
    "nbdcli: every transmission command and `cmd' send it; `trace'\n"
    "shows the header.\n" },
  { EK_MAGIC, "NBD_SIMPLE_REPLY_MAGIC", NULL, { "NBD_REPLY_MAGIC" },
    NBD_SIMPLE_REPLY_MAGIC, false,
    "The magic of a simple reply (16-byte header: magic, 32-bit error,\n"
    "64-bit cookie, then the data of a successful NBD_CMD_READ).  Its\n"
    "old name is NBD_REPLY_MAGIC.\n"
    "\n"
    "When: in the transmission phase.  Without structured replies every\n"
    "reply is simple; with them only replies without payload to\n"
    "commands other than NBD_CMD_READ may be; with extended headers\n"
    "none.\n"
    "\n"
    "Rules: the cookie MUST echo the request's; 0x96744668 (historic)\n"
    "is reserved (spec: Simple reply message).\n"
    "\n"
    "nbdcli: shown by the transmission commands and `trace'.  Raises\n"
    "simple-reply-to-read-with-sr, simple-reply-with-eh,\n"
    "cookie-mismatch and error-value-undefined.\n" },
  { EK_MAGIC, "NBD_STRUCTURED_REPLY_MAGIC", NULL, { NULL },
    NBD_STRUCTURED_REPLY_MAGIC, false,
    "The magic of a structured reply chunk (20-byte header: magic,\n"
    "16-bit flags, 16-bit type, 64-bit cookie, 32-bit payload length,\n"
    "then the payload).\n"
    "\n"
    "When: in the transmission phase, only after\n"
    "NBD_OPT_STRUCTURED_REPLY was accepted in this TLS epoch and\n"
    "without extended headers.\n"
    "\n"
    "Rules: the server MUST NOT send it unless structured replies were\n"
    "negotiated.  Chunks of one reply share the cookie; the one with\n"
    "NBD_REPLY_FLAG_DONE comes last (spec: Structured reply chunk\n"
    "message).\n"
    "\n"
    "nbdcli: shown chunk by chunk by the transmission commands and\n"
    "`trace'.  Raises sr-not-negotiated, tls-state-kept-sr,\n"
    "cookie-mismatch, chunk-outside-request, chunk-overlap,\n"
    "read-incomplete, none-without-done, chunk-length,\n"
    "chunk-type-unknown, error-value-undefined and\n"
    "structured-reply-with-eh.\n" },
  { EK_MAGIC, "NBD_EXTENDED_REQUEST_MAGIC", NULL, { NULL },
    NBD_EXTENDED_REQUEST_MAGIC, false,
    "From the extended-headers extension: the magic of a 32-byte\n"
    "request (magic, 16-bit flags, 16-bit type, 64-bit cookie, 64-bit\n"
    "offset, 64-bit length).\n"
    "\n"
    "When: every request in the transmission phase once\n"
    "NBD_OPT_EXTENDED_HEADERS was accepted in this TLS epoch.\n"
    "\n"
    "Rules: a payload follows only with NBD_CMD_FLAG_PAYLOAD_LEN;\n"
    "otherwise the length is the 64-bit effect length (spec:\n"
    "extension-ext-header branch).\n"
    "\n"
    "nbdcli: used by every transmission command after `eh'; `trace'\n"
    "shows it.\n" },
  { EK_MAGIC, "NBD_EXTENDED_REPLY_MAGIC", NULL, { NULL },
    NBD_EXTENDED_REPLY_MAGIC, false,
    "From the extended-headers extension: the magic of a 32-byte reply\n"
    "chunk (magic, 16-bit flags, 16-bit type, 64-bit cookie, 64-bit\n"
    "offset, 64-bit payload length).\n"
    "\n"
    "When: every reply in the transmission phase once\n"
    "NBD_OPT_EXTENDED_HEADERS was accepted in this TLS epoch.\n"
    "\n"
    "Rules: the offset MUST echo the request's; simple replies MUST NOT\n"
    "be used (spec: extension-ext-header branch).\n"
    "\n"
    "nbdcli: shown by the transmission commands and `trace'.  Raises\n"
    "eh-not-negotiated, tls-state-kept-eh and extended-offset-echo.\n" },

  /* Metadata namespaces and contexts. */
  { EK_NAMESPACE, "base:", NULL, { "base" }, 0, false,
    "The namespace of the metadata contexts the NBD spec itself\n"
    "defines; today only base:allocation.  A context name is\n"
    "`namespace:leaf'; the namespace is non-empty, printable, without\n"
    "whitespace or colon.  Namespaces: `base' (the NBD spec),\n"
    "`nbd-server' (the reference implementation, none yet), `x-*'\n"
    "(local experiments) and registered third parties (`qemu').\n"
    "\n"
    "When: in the queries of NBD_OPT_LIST_META_CONTEXT and\n"
    "NBD_OPT_SET_META_CONTEXT, after structured replies.\n"
    "\n"
    "Rules: `base:' alone MUST work as a wildcard for LIST (listing\n"
    "every base: context) and MUST be ignored by SET.  An unknown leaf\n"
    "name under base: MUST be ignored, not treated as an error (spec:\n"
    "The base: metadata namespace).\n"
    "\n"
    "nbdcli: `lmc base:' lists the base contexts; `smc base:allocation'\n"
    "selects one.\n" },
  { EK_CONTEXT, "base:allocation", NULL, { NULL }, 0, false,
    "The spec's one standard metadata context: which extents are\n"
    "allocated and which read as zeroes.  Status bits: NBD_STATE_HOLE\n"
    "(bit 0, 0x1) the extent is not allocated; NBD_STATE_ZERO (bit 1,\n"
    "0x2) it reads as zeroes.\n"
    "\n"
    "When: selected with NBD_OPT_SET_META_CONTEXT before NBD_OPT_GO;\n"
    "reported by NBD_CMD_BLOCK_STATUS.\n"
    "\n"
    "Rules: the other status bits are reserved (servers SHOULD send 0,\n"
    "clients MUST ignore them).  HOLE set with ZERO clear means the\n"
    "contents are undefined.  A server that supports it MUST NOT fail a\n"
    "write to an extent with HOLE clear with NBD_ENOSPC, unless another\n"
    "context explains why (spec: base:allocation metadata context).\n"
    "\n"
    "nbdcli: `smc base:allocation', then `go' and `block-status', which\n"
    "shows each extent as hole or data, and whether it reads as zeroes.\n" },
  { EK_NAMESPACE, "qemu:", NULL, { "qemu" }, 0, false,
    "The namespace registered by qemu; its contexts are documented by\n"
    "qemu (docs/interop/nbd.rst), not by the NBD spec.  A context name\n"
    "is `namespace:leaf'; the namespace is non-empty, printable,\n"
    "without whitespace or colon.  Namespaces: `base' (the NBD spec),\n"
    "`nbd-server' (the reference implementation, none yet), `x-*'\n"
    "(local experiments) and registered third parties (`qemu').\n"
    "\n"
    "When: in the queries of NBD_OPT_LIST_META_CONTEXT and\n"
    "NBD_OPT_SET_META_CONTEXT.\n"
    "\n"
    "Rules: qemu accepts `qemu:' and `qemu:dirty-bitmap:' as LIST\n"
    "wildcards; servers MUST ignore queries in namespaces they do not\n"
    "know (spec: Metadata querying).\n"
    "\n"
    "nbdcli: `lmc qemu:' lists what a qemu-nbd server offers.\n" },
  { EK_CONTEXT, "qemu:allocation-depth", NULL, { NULL }, 0, false,
    "A qemu metadata context: which layer of a chain of backing images\n"
    "provides each extent.  The whole 32-bit status is a depth: 0\n"
    "unallocated, 1 the active (top) layer, 2 the first backing layer,\n"
    "and so on.\n"
    "\n"
    "When: selected with NBD_OPT_SET_META_CONTEXT on a qemu server\n"
    "(qemu-nbd --allocation-depth, qemu 5.2 and later); reported by\n"
    "NBD_CMD_BLOCK_STATUS.\n"
    "\n"
    "Rules: defined by qemu's docs/interop/nbd.rst, not the NBD spec;\n"
    "the general block status rules apply (spec: Metadata querying).\n"
    "\n"
    "nbdcli: `smc qemu:allocation-depth', then `block-status', which\n"
    "shows each extent as unallocated, allocated in this image, or N\n"
    "images down the backing chain.\n" },
  { EK_CONTEXT, "qemu:dirty-bitmap:NAME", NULL, { NULL }, 0, false,
    "A qemu metadata context per exported dirty bitmap NAME: bit 0\n"
    "(NBD_STATE_DIRTY) marks extents changed since the bitmap was\n"
    "started, for incremental backup.\n"
    "\n"
    "When: selected with NBD_OPT_SET_META_CONTEXT on a qemu server that\n"
    "exports the bitmap (qemu-nbd -B NAME); reported by\n"
    "NBD_CMD_BLOCK_STATUS.\n"
    "\n"
    "Rules: defined by qemu's docs/interop/nbd.rst, not the NBD spec;\n"
    "`qemu:dirty-bitmap:' works as a LIST wildcard (spec: Metadata\n"
    "querying).\n"
    "\n"
    "nbdcli: `lmc qemu:dirty-bitmap:' lists the bitmaps; `smc\n"
    "qemu:dirty-bitmap:NAME', then `block-status' shows dirty/clean.\n" },

  /* Block status flags of the contexts above. */
  { EK_STATUS_FLAG, "NBD_STATE_HOLE", "HOLE", { NULL }, NBD_STATE_HOLE, true,
    "base:allocation status bit: the extent is a hole (not allocated);\n"
    "writing there may fragment the storage or fail with NBD_ENOSPC.\n"
    "Clear: allocated, or unknown.\n"
    "\n"
    "When: in the status flags of block status extents for\n"
    "base:allocation.\n"
    "\n"
    "Rules: servers MAY report a hole where no trim was done, and\n"
    "allocation where one was (spec: base:allocation metadata context).\n"
    "\n"
    "nbdcli: `block-status' shows an extent with it as `hole', without\n"
    "it as `data'.\n" },
  { EK_STATUS_FLAG, "NBD_STATE_ZERO", "ZERO", { NULL }, NBD_STATE_ZERO, true,
    "base:allocation status bit: the extent reads as zeroes.  Clear:\n"
    "the contents are not known.\n"
    "\n"
    "When: in the status flags of block status extents for\n"
    "base:allocation.\n"
    "\n"
    "Rules: servers MAY report zeroes where no write-zeroes was done,\n"
    "and unknown contents where one was.  HOLE set with ZERO clear\n"
    "means the contents are undefined and may change; a client should\n"
    "assume nothing about them (spec: base:allocation metadata\n"
    "context).\n"
    "\n"
    "nbdcli: `block-status' shows it as `reads as zeroes'.\n" },
  { EK_STATUS_FLAG, "NBD_STATE_DIRTY", "DIRTY", { NULL }, NBD_STATE_DIRTY,
    true,
    "qemu:dirty-bitmap:NAME status bit: the extent is dirty (changed\n"
    "since the bitmap started).\n"
    "\n"
    "When: in the status flags of block status extents for a\n"
    "qemu:dirty-bitmap:NAME context.\n"
    "\n"
    "Rules: defined by qemu's docs/interop/nbd.rst, not the NBD spec;\n"
    "like every status flag it fits the 32-bit status field (spec:\n"
    "Metadata querying).\n"
    "\n"
    "nbdcli: `block-status' shows an extent with it as `dirty', without\n"
    "it as `clean'.\n" },
};

#define NR_ELEMENTS (sizeof elements / sizeof elements[0])

static int
fold (int c)
{
  c = tolower ((unsigned char) c);
  return c == '-' ? '_' : c;
}

/* Do the first N bytes of A equal B?  Case does not matter, nor '-'
 * against '_'.
 */
static bool
name_eqn (const char *a, const char *b, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    if (a[i] == '\0' || b[i] == '\0' || fold (a[i]) != fold (b[i]))
      return false;
  }
  return true;
}

static bool
name_eq (const char *a, const char *b)
{
  size_t n = strlen (a);

  return n == strlen (b) && name_eqn (a, b, n);
}

/* A decimal number, or hex with 0x. */
static bool
parse_number (const char *s, uint64_t *v)
{
  const char *digits = "0123456789";
  uint64_t n = 0;
  unsigned base = 10;

  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s += 2;
    base = 16;
    digits = "0123456789abcdefABCDEF";
  }
  if (*s == '\0' || strspn (s, digits) != strlen (s))
    return false;
  for (; *s; s++) {
    int c = tolower ((unsigned char) *s);
    unsigned d = isdigit (c) ? (unsigned) (c - '0')
                             : (unsigned) (c - 'a' + 10);

    if (n > (UINT64_MAX - d) / base)
      return false;
    n = n * base + d;
  }
  *v = n;
  return true;
}

/* Does QUERY name element E?  Full name, short name, aliases, the full
 * name without its "NBD_" prefix ("OPT_GO"), and for a name ending in
 * ":NAME" (qemu:dirty-bitmap:NAME) anything with the part before NAME
 * as prefix.
 */
static bool
matches_name (const struct element *e, const char *query)
{
  size_t i, len;

  if (name_eq (query, e->name))
    return true;
  if (e->shortname && name_eq (query, e->shortname))
    return true;
  for (i = 0; i < 2; i++)
    if (e->alias[i] && name_eq (query, e->alias[i]))
      return true;
  if (strncmp (e->name, "NBD_", 4) == 0 && name_eq (query, e->name + 4))
    return true;
  len = strlen (e->name);
  if (len > 5 && strcmp (e->name + len - 5, ":NAME") == 0
      && name_eqn (query, e->name, len - 4))
    return true;
  return false;
}

static void
print_element (FILE *fp, const struct element *e)
{
  const char *label = kinds[e->kind].label;
  const char *p, *next;

  if (!kinds[e->kind].has_value)
    fprintf (fp, "%s (%s)\n", e->name, label);
  else if (e->is_flag) {
    int bit = 0;

    while (bit < 63 && !(e->value & (UINT64_C (1) << bit)))
      bit++;
    fprintf (fp, "%s (%s bit %d, mask %" PRIu64 ", 0x%" PRIx64 ")\n",
            e->name, label, bit, e->value, e->value);
  }
  else
    fprintf (fp, "%s (%s %" PRIu64 ", 0x%" PRIx64 ")\n",
            e->name, label, e->value, e->value);

  for (p = e->text; *p; p = next) {
    size_t len = strcspn (p, "\n");

    if (len > 0)
      fprintf (fp, "  %.*s\n", (int) len, p);
    else
      fprintf (fp, "\n");
    next = p + len + (p[len] == '\n');
  }
}

int
help_element (FILE *fp, const char *query)
{
  const struct element *e;
  const char *colon;
  uint64_t v;
  bool number;
  int n = 0;

  if (!query || *query == '\0')
    return 0;
  number = parse_number (query, &v);
  for (e = elements; e < elements + NR_ELEMENTS; e++) {
    bool m = number
      ? kinds[e->kind].has_value && e->value == v
      : matches_name (e, query);
    if (m) {
      if (n++ > 0)
        fprintf (fp, "\n");
      print_element (fp, e);
    }
  }

  /* An unknown context in a known namespace ("base:foo"): explain the
   * namespace.
   */
  colon = strchr (query, ':');
  if (n == 0 && !number && colon) {
    for (e = elements; e < elements + NR_ELEMENTS; e++) {
      if (e->kind == EK_NAMESPACE
          && strlen (e->name) == (size_t) (colon - query + 1)
          && name_eqn (query, e->name, colon - query + 1)) {
        if (n++ > 0)
          fprintf (fp, "\n");
        print_element (fp, e);
      }
    }
  }
  return n;
}

/* Was NAME already given by an element before E? */
static bool
seen_before (const struct element *e, const char *name)
{
  const struct element *p;
  size_t i;

  for (p = elements; p < e; p++) {
    if (strcmp (p->name, name) == 0
        || (p->shortname && strcmp (p->shortname, name) == 0))
      return true;
    for (i = 0; i < 2; i++)
      if (p->alias[i] && strcmp (p->alias[i], name) == 0)
        return true;
  }
  return false;
}

void
list_element_names (void (*add) (const char *name, void *ctx), void *ctx)
{
  const struct element *e;
  size_t i;

  for (e = elements; e < elements + NR_ELEMENTS; e++) {
    add (e->name, ctx);
    if (e->shortname && !seen_before (e, e->shortname))
      add (e->shortname, ctx);
    for (i = 0; i < 2; i++)
      if (e->alias[i] && !seen_before (e, e->alias[i]))
        add (e->alias[i], ctx);
  }
}
