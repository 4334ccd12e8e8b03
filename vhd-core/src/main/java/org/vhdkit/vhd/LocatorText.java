package org.vhdkit.vhd;

import java.util.Objects;
import java.util.Optional;
import org.vhdkit.vhd.format.ParentLocator;

/**
 * A parent locator of a differencing disk and the path its data spells, as stored (a Windows path
 * for the W2ru and W2ku kinds). Immutable.
 *
 * @param locator the table entry
 * @param path    the decoded path; empty when the data cannot be read or decoded (a Mac alias, data
 *                outside the file)
 */
public record LocatorText(ParentLocator locator, Optional<String> path) {
    public LocatorText {
        Objects.requireNonNull(locator, "locator");
        Objects.requireNonNull(path, "path");
    }
}
