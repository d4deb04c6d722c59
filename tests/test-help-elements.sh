#!/usr/bin/env bash
# test-help-elements.sh: `help NAME' explains every protocol element.
# Copyright the nbdcli authors, MIT licence.
#
#  - every element of the protocol digest's tables (options, option
#    replies, info types, handshake, client and transmission flags,
#    commands, command flags, reply flags and types, error values, magic
#    numbers, metadata namespaces and contexts) has an entry: `help NAME'
#    exits 0 and prints the header `NAME (...)' and the spec and nbdcli
#    paragraphs;
#  - short names, other spellings and case work; an ambiguous short name
#    prints every match;
#  - numbers find every element with that value (flags by mask);
#  - an unknown name is a usage error (exit 2) that prints no entry;
#  - a command name still gives the command's help.

# shellcheck source=tests/functions.sh
. "${srcdir:-tests}/functions.sh"
set -e
set -x

[ -x "$NBDCLI" ] || fail "$NBDCLI was not built"

# help_ok QUERY: `help QUERY' exits 0; its output is in $tmp/out.
help_ok ()
{
    expect_status 0 "$NBDCLI" -c "help $1"
}

# starts_entry NAME: does a line of $tmp/out begin with `NAME (', the
# header of NAME's entry?
starts_entry ()
{
    awk -v h="$1 (" 'index($0, h) == 1 { f = 1 } END { exit !f }' "$tmp/out"
}

# has_header NAME: $tmp/out has the entry of element NAME.
has_header ()
{
    if ! starts_entry "$1"; then
        { set +x; } 2>/dev/null
        echo "FAIL: no entry for $1 in the \`help' output:" >&2
        _show "$tmp/out"
        exit 1
    fi
}

# no_header NAME: $tmp/out has no entry for NAME.
no_header ()
{
    if starts_entry "$1"; then
        { set +x; } 2>/dev/null
        echo "FAIL: unexpected entry for $1:" >&2
        _show "$tmp/out"
        exit 1
    fi
}

# entries: the number of entries in $tmp/out.
entries ()
{
    grep -c -E '^[^ ]+ \(' "$tmp/out" || true
}

# Every element in the tables of the protocol digest.
elements=(
    # Options.
    NBD_OPT_EXPORT_NAME NBD_OPT_ABORT NBD_OPT_LIST NBD_OPT_PEEK_EXPORT
    NBD_OPT_STARTTLS NBD_OPT_INFO NBD_OPT_GO NBD_OPT_STRUCTURED_REPLY
    NBD_OPT_LIST_META_CONTEXT NBD_OPT_SET_META_CONTEXT
    NBD_OPT_EXTENDED_HEADERS
    # Option reply types.
    NBD_REP_ACK NBD_REP_SERVER NBD_REP_INFO NBD_REP_META_CONTEXT
    NBD_REP_ERR_UNSUP NBD_REP_ERR_POLICY NBD_REP_ERR_INVALID
    NBD_REP_ERR_PLATFORM NBD_REP_ERR_TLS_REQD NBD_REP_ERR_UNKNOWN
    NBD_REP_ERR_SHUTDOWN NBD_REP_ERR_BLOCK_SIZE_REQD NBD_REP_ERR_TOO_BIG
    NBD_REP_ERR_EXT_HEADER_REQD
    # Info types.
    NBD_INFO_EXPORT NBD_INFO_NAME NBD_INFO_DESCRIPTION NBD_INFO_BLOCK_SIZE
    # Handshake flags and client flags.
    NBD_FLAG_FIXED_NEWSTYLE NBD_FLAG_NO_ZEROES
    NBD_FLAG_C_FIXED_NEWSTYLE NBD_FLAG_C_NO_ZEROES
    # Transmission flags.
    NBD_FLAG_HAS_FLAGS NBD_FLAG_READ_ONLY NBD_FLAG_SEND_FLUSH
    NBD_FLAG_SEND_FUA NBD_FLAG_ROTATIONAL NBD_FLAG_SEND_TRIM
    NBD_FLAG_SEND_WRITE_ZEROES NBD_FLAG_SEND_DF NBD_FLAG_CAN_MULTI_CONN
    NBD_FLAG_SEND_RESIZE NBD_FLAG_SEND_CACHE NBD_FLAG_SEND_FAST_ZERO
    NBD_FLAG_BLOCK_STATUS_PAYLOAD
    # Commands.
    NBD_CMD_READ NBD_CMD_WRITE NBD_CMD_DISC NBD_CMD_FLUSH NBD_CMD_TRIM
    NBD_CMD_CACHE NBD_CMD_WRITE_ZEROES NBD_CMD_BLOCK_STATUS NBD_CMD_RESIZE
    # Command flags.
    NBD_CMD_FLAG_FUA NBD_CMD_FLAG_NO_HOLE NBD_CMD_FLAG_DF
    NBD_CMD_FLAG_REQ_ONE NBD_CMD_FLAG_FAST_ZERO NBD_CMD_FLAG_PAYLOAD_LEN
    # Structured reply flags and types.
    NBD_REPLY_FLAG_DONE
    NBD_REPLY_TYPE_NONE NBD_REPLY_TYPE_OFFSET_DATA
    NBD_REPLY_TYPE_OFFSET_HOLE NBD_REPLY_TYPE_BLOCK_STATUS
    NBD_REPLY_TYPE_BLOCK_STATUS_EXT NBD_REPLY_TYPE_ERROR
    NBD_REPLY_TYPE_ERROR_OFFSET
    # Error values.
    NBD_EPERM NBD_EIO NBD_ENOMEM NBD_EINVAL NBD_ENOSPC NBD_EOVERFLOW
    NBD_ENOTSUP NBD_ESHUTDOWN
    # Magic numbers.
    NBDMAGIC cliserv_magic IHAVEOPT NBD_OPT_REPLY_MAGIC
    NBD_REQUEST_MAGIC NBD_SIMPLE_REPLY_MAGIC NBD_STRUCTURED_REPLY_MAGIC
    NBD_EXTENDED_REQUEST_MAGIC NBD_EXTENDED_REPLY_MAGIC
    # Metadata namespaces, contexts and their status flags.
    base: base:allocation qemu: qemu:allocation-depth
    qemu:dirty-bitmap:NAME
    NBD_STATE_HOLE NBD_STATE_ZERO NBD_STATE_DIRTY
)

for e in "${elements[@]}"; do
    help_ok "$e"
    has_header "$e"
    # Each entry says when, what the spec requires, and what nbdcli does.
    assert_grep -E '^  When: ' "$tmp/out"
    assert_grep -F '(spec:' "$tmp/out"
    assert_grep -E '^  nbdcli: ' "$tmp/out"
    # Exactly one entry (no name is ambiguous in full).
    n=$(entries)
    [ "$n" = 1 ] || fail "help $e printed $n entries"
done

# The header gives the kind and the value in decimal and hex.
help_ok NBD_OPT_GO
assert_grep -x -F 'NBD_OPT_GO (option 7, 0x7)' "$tmp/out"
help_ok NBD_FLAG_SEND_DF
assert_grep -x -F 'NBD_FLAG_SEND_DF (transmission flag bit 7, mask 128, 0x80)' \
    "$tmp/out"
assert_grep -F 'read --df' "$tmp/out"
assert_grep -F 'df-without-sr' "$tmp/out"
help_ok NBD_REP_ERR_TLS_REQD
assert_grep -x -F \
    'NBD_REP_ERR_TLS_REQD (option reply 2147483653, 0x80000005)' "$tmp/out"
assert_grep -F 'tls-reqd-after-tls' "$tmp/out"
help_ok NBD_OPT_STARTTLS
assert_grep -F 'spec: NBD_OPT_STARTTLS' "$tmp/out"
for f in tls-state-kept-sr tls-state-kept-meta tls-state-kept-eh \
         tls-state-kept-export starttls-twice; do
    assert_grep -F "$f" "$tmp/out"
done
help_ok NBD_CMD_FLAG_REQ_ONE
assert_grep -F 'block-status --req-one' "$tmp/out"

# Short names, other spellings, case.
help_ok GO
has_header NBD_OPT_GO
help_ok SEND_DF
has_header NBD_FLAG_SEND_DF
help_ok send_df
has_header NBD_FLAG_SEND_DF
help_ok nbd_flag_send_df
has_header NBD_FLAG_SEND_DF
help_ok OPT_GO
has_header NBD_OPT_GO
help_ok TLS_REQD
has_header NBD_REP_ERR_TLS_REQD
help_ok INIT_PASSWD
has_header NBDMAGIC
help_ok NBD_REPLY_MAGIC
has_header NBD_SIMPLE_REPLY_MAGIC
help_ok option-reply-magic
has_header NBD_OPT_REPLY_MAGIC
help_ok NBD_FLAG_BLOCK_STAT_PAYLOAD
has_header NBD_FLAG_BLOCK_STATUS_PAYLOAD

# An ambiguous short name prints every match, separated by a blank line.
help_ok INFO
has_header NBD_OPT_INFO
has_header NBD_REP_INFO
no_header NBD_INFO_EXPORT
assert_grep -x '' "$tmp/out"
help_ok BLOCK_STATUS
has_header NBD_CMD_BLOCK_STATUS
has_header NBD_REPLY_TYPE_BLOCK_STATUS

# Numbers: every element with that value, flags by their mask.
help_ok 0x80000005
has_header NBD_REP_ERR_TLS_REQD
n=$(entries)
[ "$n" = 1 ] || fail "help 0x80000005 printed $n entries"
help_ok 7
has_header NBD_OPT_GO
has_header NBD_CMD_BLOCK_STATUS
no_header NBD_OPT_INFO
help_ok 0x80
has_header NBD_FLAG_SEND_DF
help_ok 1
for e in NBD_OPT_EXPORT_NAME NBD_REP_ACK NBD_INFO_NAME \
         NBD_FLAG_FIXED_NEWSTYLE NBD_FLAG_C_FIXED_NEWSTYLE \
         NBD_FLAG_HAS_FLAGS NBD_CMD_WRITE NBD_CMD_FLAG_FUA \
         NBD_REPLY_FLAG_DONE NBD_REPLY_TYPE_OFFSET_DATA NBD_EPERM; do
    has_header "$e"
done
help_ok 32769
has_header NBD_REPLY_TYPE_ERROR
help_ok 0x668e33ef
has_header NBD_STRUCTURED_REPLY_MAGIC
help_ok 0x4e42444d41474943
has_header NBDMAGIC

# Namespaces and contexts.
help_ok base:allocation
has_header base:allocation
no_header base:
help_ok qemu:dirty-bitmap:bitmap0
has_header qemu:dirty-bitmap:NAME
help_ok BASE:ALLOCATION
has_header base:allocation
help_ok base:no-such-leaf
has_header base:

# Unknown: exit 2, no entry.
expect_status 2 "$NBDCLI" -c 'help nonsense'
assert_not_grep -E '^[^ ]+ \(' "$tmp/out"
expect_status 2 "$NBDCLI" -c 'help 12345'
expect_status 2 "$NBDCLI" -c 'help nosuchns:foo'

# A command name still gives the command's help.
help_ok go
assert_grep -E '^usage: go' "$tmp/out"
no_header NBD_OPT_GO
help_ok help
assert_grep -F 'ELEMENT' "$tmp/out"
