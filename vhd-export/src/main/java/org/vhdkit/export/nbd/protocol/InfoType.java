package org.vhdkit.export.nbd.protocol;

/** The information items of {@code NBD_REP_INFO} ({@code NBD_INFO_...}). */
public final class InfoType {
    public static final int EXPORT = 0;
    public static final int NAME = 1;
    public static final int DESCRIPTION = 2;
    public static final int BLOCK_SIZE = 3;

    private InfoType() {
    }
}
