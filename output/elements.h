/* nbdcli - help for protocol elements (options, replies, flags,
 * commands, errors, magic numbers, metadata contexts).
 * Copyright the nbdcli authors, MIT licence.
 */
#ifndef NBDCLI_ELEMENTS_H
#define NBDCLI_ELEMENTS_H

#include <stdio.h>

/* Prints to FP the entry of every protocol element that QUERY
 * names, separated by blank lines, and returns how many were printed
 * (0, printing nothing, when none matches).  QUERY is a full name
 * (NBD_OPT_GO), a short name (GO, SEND_DF; an ambiguous one such as
 * INFO prints every match), a number (7, 0x80000005: every element
 * with that value, every flag with that mask) or a metadata context
 * or namespace (base:allocation, qemu:dirty-bitmap:foo).  Case does
 * not matter, nor '-' against '_'.
 */
extern int help_element (FILE *fp, const char *query);

/* Calls ADD once for each full name, short name and other spelling of
 * the elements (a short name shared by two elements, such as INFO,
 * only once), e.g. for completion.  The strings are static.
 */
extern void list_element_names (void (*add) (const char *name, void *ctx),
                                void *ctx);

#endif
