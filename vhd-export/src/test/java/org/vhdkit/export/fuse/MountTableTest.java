package org.vhdkit.export.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Lines of /proc/self/mountinfo as proc(5) lays them out, and the kernel's octal escapes. */
class MountTableTest {
    @Test
    void aLineGivesItsMountPointTypeAndSourceWhateverOptionalFieldsItHas() {
        assertEquals(Optional.of(new MountTable.Entry(Path.of("/mnt2"), "ext3", "/dev/root")),
                MountTable.parse("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"),
                "proc(5)'s example, with one optional field");
        assertEquals(Optional.of(new MountTable.Entry(Path.of("/tmp/m"), "fuse.vhd", "vhd:42:/images/a.vhd")),
                MountTable.parse("99 26 0:57 / /tmp/m rw,nosuid,nodev - fuse.vhd vhd:42:/images/a.vhd"
                        + " rw,user_id=0,group_id=0"), "no optional field");
        assertEquals(Optional.of(new MountTable.Entry(Path.of("/a"), "tmpfs", "tmpfs")),
                MountTable.parse("1 2 0:3 / /a rw shared:5 propagate_from:2 unbindable - tmpfs tmpfs rw"),
                "several optional fields");
    }

    @Test
    void linesWithoutTheSeparatorOrItsTwoFieldsAreSkipped() {
        assertEquals(Optional.empty(), MountTable.parse(""));
        assertEquals(Optional.empty(), MountTable.parse("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw"));
        assertEquals(Optional.empty(), MountTable.parse("36 35 98:0 /mnt1 /mnt2 rw,noatime - ext3"));
    }

    /** The kernel writes space, tab, newline and backslash as \040, \011, \012 and \134 in paths and sources. */
    @Test
    void octalEscapesAreUndoneAndOtherBackslashesKept() {
        assertEquals(Optional.of(new MountTable.Entry(Path.of("/tmp/my disk"), "fuse.vhd", "vhd:7:/x/a b\\c.vhd")),
                MountTable.parse("99 26 0:57 / /tmp/my\\040disk rw - fuse.vhd vhd:7:/x/a\\040b\\134c.vhd rw"));
        assertEquals("tab\there\nnewline", MountTable.unescape("tab\\011here\\012newline"));
        assertEquals("plain", MountTable.unescape("plain"));
        assertEquals("\\9x and \\01 and end\\", MountTable.unescape("\\9x and \\01 and end\\"),
                "a backslash without three octal digits after it is a backslash");
        assertEquals("\\08", MountTable.unescape("\\08"), "8 is not an octal digit");
    }
}
