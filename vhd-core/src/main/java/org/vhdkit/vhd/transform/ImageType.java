package org.vhdkit.vhd.transform;

/** The kinds of file a conversion writes, and whose size {@link Measurement} computes. */
public enum ImageType {
    /** A fixed VHD: the disk's bytes, then a 512-byte footer. Written as a sparse file. */
    FIXED,
    /** A dynamic VHD: only the blocks that hold data, 2 MiB each unless told otherwise. */
    DYNAMIC,
    /** A raw image: the disk's bytes and nothing else. Written as a sparse file. */
    RAW
}
