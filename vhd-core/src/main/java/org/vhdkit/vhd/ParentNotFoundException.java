package org.vhdkit.vhd;

import java.io.IOException;
import java.util.List;

/**
 * No parent of a differencing disk could be found: none of the places its locators and parent
 * name point at holds a disk with the UUID the child was linked to. The message lists every place
 * tried and why it was passed over.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class ParentNotFoundException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient List<String> tried;

    /**
     * @param child      the differencing disk, as the user named it
     * @param parentName the parent's name as the child records it
     * @param parentUuid the UUID the child was linked to
     * @param tried      each place tried, with the reason it was passed over
     */
    public ParentNotFoundException(String child, String parentName, String parentUuid, List<String> tried) {
        super(child + ": parent '" + parentName + "' (UUID " + parentUuid + ") not found; tried "
                + (tried.isEmpty() ? "nothing: the disk names no parent locator and no parent name" : String.join("; ", tried)));
        this.tried = List.copyOf(tried);
    }

    /** Each place tried, with the reason it was passed over. */
    public List<String> tried() {
        return tried;
    }
}
