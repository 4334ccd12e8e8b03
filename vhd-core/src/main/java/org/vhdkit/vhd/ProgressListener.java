package org.vhdkit.vhd;

/**
 * Told how far a long operation (convert, compact, merge, check, digest) has come, so that a user
 * interface can show it. Called from the thread doing the work, often: keep it cheap.
 */
@FunctionalInterface
public interface ProgressListener {
    /** A listener that ignores everything. */
    ProgressListener NONE = (done, total) -> {
    };

    /**
     * @param done  how many units (bytes of the virtual disk, unless the operation says otherwise)
     *              are done
     * @param total how many there are in all
     */
    void progress(long done, long total);
}
