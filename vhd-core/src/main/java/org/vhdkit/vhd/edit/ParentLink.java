package org.vhdkit.vhd.edit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.vhdkit.vhd.format.PlatformCode;
import org.vhdkit.vhd.format.VhdTime;

/**
 * What a differencing disk records of its parent, in the form Windows writes it and
 * {@code Vhd.create} writes it for a new disk: the parent's UUID, its modification time, its file
 * name, a relative Windows path from the child's folder ({@code .\base.vhd},
 * {@code ..\bases\base.vhd}) and an absolute one, both with backslashes.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param uuid      the parent footer's Unique Id
 * @param timestamp the parent file's modification time, in VHD seconds
 * @param name      the parent's file name, for the Parent Unicode Name
 * @param relative  the W2ru locator text
 * @param absolute  the W2ku locator text
 */
record ParentLink(UUID uuid, long timestamp, String name, String relative, String absolute) {

    static ParentLink of(Path child, Path parent, UUID uuid) throws IOException {
        Path parentAbsolute = parent.toAbsolutePath().normalize();
        Path childDirectory = child.toAbsolutePath().normalize().getParent();
        String relative = childDirectory.relativize(parentAbsolute).toString().replace('/', '\\');
        if (!relative.startsWith("..")) {
            relative = ".\\" + relative;
        }
        String absolute = parentAbsolute.toString().replace('/', '\\');
        long modified = VhdTime.fromInstant(Files.getLastModifiedTime(parent).toInstant());
        return new ParentLink(uuid, modified, parentAbsolute.getFileName().toString(), relative, absolute);
    }

    byte[] relativeData() {
        return PlatformCode.W2RU.encodePath(relative);
    }

    byte[] absoluteData() {
        return PlatformCode.W2KU.encodePath(absolute);
    }
}
