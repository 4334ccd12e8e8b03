package org.vhdkit.cli.disk;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.util.List;

/**
 * The JSON document of {@code vhd info}: the disk's {@link DiskSummary} fields at the top level, then
 * its ancestors and every warning.
 *
 * @param disk     the file asked about; its fields are the document's first fields
 * @param chain    with {@code --chain}, the summaries of its parent, grandparent, ... (empty for a
 *                 fixed or dynamic disk); null without {@code --chain}
 * @param warnings what was odd but not refused, in the disk and its parents, one sentence each
 */
record InfoReport(@JsonUnwrapped DiskSummary disk, List<DiskSummary> chain, List<String> warnings) {
}
