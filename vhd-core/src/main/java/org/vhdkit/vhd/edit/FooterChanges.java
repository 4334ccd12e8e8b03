package org.vhdkit.vhd.edit;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;

/**
 * The footer fields {@link ImageEdits#set} changes; empty ones stay as they are. Start from
 * {@link #NONE} and add what to change with the {@code with...} methods.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param uniqueId           a new Unique Id for the disk
 * @param creatorApplication a new Creator Application: four characters of one byte each, e.g.
 *                           {@code "win "}
 * @param creatorVersion     a new Creator Version: major version in the high 16 bits, minor in the low
 * @param creatorHostOs      a new Creator Host OS, four characters as a big-endian int, e.g.
 *                           {@link org.vhdkit.vhd.format.Footer#HOST_WINDOWS}
 */
public record FooterChanges(Optional<UUID> uniqueId, Optional<String> creatorApplication, OptionalInt creatorVersion,
                            OptionalInt creatorHostOs) {
    /** Nothing changed. */
    public static final FooterChanges NONE = new FooterChanges(Optional.empty(), Optional.empty(), OptionalInt.empty(),
            OptionalInt.empty());

    /**
     * @throws IllegalArgumentException when the creator application is not four characters of one byte
     */
    public FooterChanges {
        Objects.requireNonNull(uniqueId, "uniqueId");
        Objects.requireNonNull(creatorApplication, "creatorApplication");
        Objects.requireNonNull(creatorVersion, "creatorVersion");
        Objects.requireNonNull(creatorHostOs, "creatorHostOs");
        creatorApplication.ifPresent(app -> {
            if (app.length() != 4 || !app.chars().allMatch(c -> c < 0x100)) {
                throw new IllegalArgumentException("the creator application must be four characters of one byte"
                        + " each (e.g. \"win \"); \"" + app + "\" is not");
            }
        });
    }

    public FooterChanges withUniqueId(UUID id) {
        return new FooterChanges(Optional.of(id), creatorApplication, creatorVersion, creatorHostOs);
    }

    public FooterChanges withCreatorApplication(String application) {
        return new FooterChanges(uniqueId, Optional.of(application), creatorVersion, creatorHostOs);
    }

    public FooterChanges withCreatorVersion(int version) {
        return new FooterChanges(uniqueId, creatorApplication, OptionalInt.of(version), creatorHostOs);
    }

    public FooterChanges withCreatorHostOs(int hostOs) {
        return new FooterChanges(uniqueId, creatorApplication, creatorVersion, OptionalInt.of(hostOs));
    }

    /** Whether nothing is to change. */
    public boolean isEmpty() {
        return uniqueId.isEmpty() && creatorApplication.isEmpty() && creatorVersion.isEmpty() && creatorHostOs.isEmpty();
    }
}
