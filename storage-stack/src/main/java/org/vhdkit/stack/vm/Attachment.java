package org.vhdkit.stack.vm;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * What is attached at one slot of a VM: a virtual disk (a VHD file), a DVD drive (an ISO file or
 * empty), or a pass-through disk (a raw host file or block device). Declarative only: nothing here
 * opens the file; the device layer does when the VM starts.
 *
 * <p>{@code path} is null only for an empty DVD drive; otherwise it is absolute (checked with the
 * configuration). DVD drives are always read-only.
 *
 * <p>Immutable; safe to share between threads.
 */
public record Attachment(Slot slot, Kind kind, Path path, boolean readOnly) {
    /** What sits in a slot. */
    public enum Kind {
        /** A virtual hard disk: a VHD file. */
        DISK,
        /** A DVD drive with an ISO image, or empty. IDE only. */
        DVD,
        /** A raw host file or block device used as the disk itself; snapshots skip it. */
        PASS_THROUGH;

        /** The name in configuration files: "disk", "dvd", "passthrough". */
        public String label() {
            return this == PASS_THROUGH ? "passthrough" : name().toLowerCase(Locale.ROOT);
        }

        static Kind ofLabel(String label) {
            for (Kind k : values()) {
                if (k.label().equals(label)) {
                    return k;
                }
            }
            return null;
        }
    }

    public Attachment {
        Objects.requireNonNull(slot, "slot");
        Objects.requireNonNull(kind, "kind");
    }

    /** A VHD file attached read-write. */
    public static Attachment disk(Slot slot, Path vhd) {
        return new Attachment(slot, Kind.DISK, Objects.requireNonNull(vhd, "vhd"), false);
    }

    /** A VHD file attached read-only or read-write. */
    public static Attachment disk(Slot slot, Path vhd, boolean readOnly) {
        return new Attachment(slot, Kind.DISK, Objects.requireNonNull(vhd, "vhd"), readOnly);
    }

    /** A DVD drive holding the ISO image {@code iso}. */
    public static Attachment dvd(Slot slot, Path iso) {
        return new Attachment(slot, Kind.DVD, Objects.requireNonNull(iso, "iso"), true);
    }

    /** An empty DVD drive. */
    public static Attachment emptyDvd(Slot slot) {
        return new Attachment(slot, Kind.DVD, null, true);
    }

    /** A raw host file or block device passed through. */
    public static Attachment passThrough(Slot slot, Path device, boolean readOnly) {
        return new Attachment(slot, Kind.PASS_THROUGH, Objects.requireNonNull(device, "device"), readOnly);
    }

    /** The file or device, empty for an empty DVD drive. */
    public Optional<Path> media() {
        return Optional.ofNullable(path);
    }

    @Override
    public String toString() {
        return slot + " " + kind.label() + " " + (path == null ? "(empty)" : path) + (readOnly ? " read-only" : "");
    }
}
