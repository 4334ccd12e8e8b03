package org.vhdkit.vhd.format;

/**
 * The Disk Geometry field of the footer: cylinders (16 bits), heads and sectors per track (8 bits
 * each), as a BIOS would see the disk.
 *
 * <p>The geometry is derived from the size by the specification's algorithm ({@link #forSize}) and
 * may cover less than the size; the Current Size field, not the geometry, is the disk's size.
 * Disk2vhd writes {@link #MAX} whatever the size.
 *
 * <p>Records are immutable and safe to share between threads.
 *
 * @param cylinders       0 to 65535
 * @param heads           0 to 255 (the algorithm never gives more than 16)
 * @param sectorsPerTrack 0 to 255
 */
public record DiskGeometry(int cylinders, int heads, int sectorsPerTrack) {
    /** The largest geometry the algorithm gives: 65535/16/255, 136,899,993,600 bytes. */
    public static final DiskGeometry MAX = new DiskGeometry(65535, 16, 255);

    private static final long MAX_SECTORS = 65535L * 16 * 255;
    private static final long LARGE_DISK_SECTORS = 65535L * 16 * 63;

    /**
     * A geometry as stored; any values that fit the fields are accepted.
     *
     * @throws IllegalArgumentException when a value does not fit its field
     */
    public DiskGeometry {
        if (cylinders < 0 || cylinders > 0xFFFF) {
            throw new IllegalArgumentException("cylinders " + cylinders + " outside 0..65535");
        }
        if (heads < 0 || heads > 0xFF) {
            throw new IllegalArgumentException("heads " + heads + " outside 0..255");
        }
        if (sectorsPerTrack < 0 || sectorsPerTrack > 0xFF) {
            throw new IllegalArgumentException("sectors per track " + sectorsPerTrack + " outside 0..255");
        }
    }

    /**
     * The geometry the specification's appendix algorithm derives from a size: total sectors are
     * {@code bytes / 512} capped at 65535*16*255; from 65535*16*63 sectors on, 255 sectors per track
     * and 16 heads; below, 17 sectors per track with 4 to 16 heads, then 31 and then 63 sectors per
     * track with 16 heads when the cylinders would overflow 1024 per head.
     *
     * @throws IllegalArgumentException when {@code bytes} is negative
     */
    public static DiskGeometry forSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size " + bytes);
        }
        long totalSectors = Math.min(bytes / 512, MAX_SECTORS);
        int sectorsPerTrack;
        int heads;
        long cylinderTimesHeads;
        if (totalSectors >= LARGE_DISK_SECTORS) {
            sectorsPerTrack = 255;
            heads = 16;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
        } else {
            sectorsPerTrack = 17;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
            heads = (int) ((cylinderTimesHeads + 1023) / 1024);
            if (heads < 4) {
                heads = 4;
            }
            if (cylinderTimesHeads >= heads * 1024L || heads > 16) {
                sectorsPerTrack = 31;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
            if (cylinderTimesHeads >= heads * 1024L) {
                sectorsPerTrack = 63;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
        }
        return new DiskGeometry((int) (cylinderTimesHeads / heads), heads, sectorsPerTrack);
    }

    /** Cylinders x heads x sectors per track. */
    public long sectors() {
        return (long) cylinders * heads * sectorsPerTrack;
    }

    /** The bytes the geometry covers: {@link #sectors()} x 512. */
    public long capacity() {
        return sectors() * 512;
    }

    @Override
    public String toString() {
        return cylinders + "/" + heads + "/" + sectorsPerTrack;
    }
}
