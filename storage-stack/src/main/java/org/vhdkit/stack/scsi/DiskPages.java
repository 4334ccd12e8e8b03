package org.vhdkit.stack.scsi;

import java.util.HexFormat;
import java.util.UUID;

/**
 * The byte layouts a {@link ScsiDisk} answers with (SPC-3 INQUIRY data and VPD pages, SBC-3 READ
 * CAPACITY data and the caching mode page). Each method returns a new array; the disk builds the
 * ones that never change once, at construction.
 */
final class DiskPages {
    /** Peripheral qualifier 0 (connected), device type 0 (direct access block device). */
    static final int DISK = 0x00;
    static final String VENDOR = "Msft    ";
    static final String PRODUCT = "Virtual Disk    ";
    static final String REVISION = "1.0 ";
    /** Standard INQUIRY data is 96 bytes, as Hyper-V returns it (bytes 36 onward are zero). */
    static final int STANDARD_INQUIRY_LENGTH = 96;
    /** Microsoft's IEEE OUI, 00-22-48, which Hyper-V puts in its NAA designators. */
    private static final int MICROSOFT_OUI = 0x002248;

    static final int PAGE_SUPPORTED = 0x00;
    static final int PAGE_SERIAL = 0x80;
    static final int PAGE_IDENTIFICATION = 0x83;
    static final int PAGE_BLOCK_LIMITS = 0xB0;
    static final int PAGE_CHARACTERISTICS = 0xB1;
    static final int PAGE_PROVISIONING = 0xB2;

    static final int MODE_PAGE_CACHING = 0x08;
    static final int MODE_PAGE_ALL = 0x3F;
    private static final int CACHING_PAGE_LENGTH = 20;

    private DiskPages() {
    }

    /**
     * Standard INQUIRY data: a disk, not removable, SPC-3 (version 5), response data format 2,
     * CMDQUE set (many commands in flight), vendor "Msft    ", product "Virtual Disk    ", revision
     * "1.0 ".
     */
    static byte[] standardInquiry() {
        byte[] b = new byte[STANDARD_INQUIRY_LENGTH];
        b[0] = DISK;
        b[1] = 0x00; // RMB 0
        b[2] = 0x05; // SPC-3
        b[3] = 0x02; // response data format 2
        b[4] = (byte) (STANDARD_INQUIRY_LENGTH - 5);
        b[7] = 0x02; // CMDQUE
        Cdb.putAscii(b, 8, VENDOR);
        Cdb.putAscii(b, 16, PRODUCT);
        Cdb.putAscii(b, 32, REVISION);
        return b;
    }

    /** A VPD page: the 4-byte header and {@code length} bytes of page to fill in from byte 4. */
    private static byte[] page(int code, int length) {
        byte[] b = new byte[4 + length];
        b[0] = DISK;
        b[1] = (byte) code;
        Cdb.put16(b, 2, length);
        return b;
    }

    /** VPD 0x00: the supported pages, ascending. */
    static byte[] supportedPages(boolean unmap) {
        int[] codes = unmap
                ? new int[] {PAGE_SUPPORTED, PAGE_SERIAL, PAGE_IDENTIFICATION, PAGE_BLOCK_LIMITS, PAGE_CHARACTERISTICS,
                             PAGE_PROVISIONING}
                : new int[] {PAGE_SUPPORTED, PAGE_SERIAL, PAGE_IDENTIFICATION, PAGE_BLOCK_LIMITS, PAGE_CHARACTERISTICS};
        byte[] b = page(PAGE_SUPPORTED, codes.length);
        for (int i = 0; i < codes.length; i++) {
            b[4 + i] = (byte) codes[i];
        }
        return b;
    }

    /** VPD 0x80: the unit serial number, ASCII. */
    static byte[] serialNumber(String serial) {
        byte[] b = page(PAGE_SERIAL, serial.length());
        Cdb.putAscii(b, 4, serial);
        return b;
    }

    /**
     * VPD 0x83, two designators for the logical unit, both derived from the disk id alone (so they
     * survive restarts and moves, which is what multipath and udev key on):
     * <ol>
     *   <li>T10 vendor ID based (type 1, code set ASCII): "Msft    " then the 32 hex digits of the id;
     *   <li>NAA IEEE Registered Extended (type 3, code set binary, NAA 6): Microsoft's OUI as
     *       Hyper-V uses it, then bytes 0-5 and 10-15 of the id (the most random bytes of a
     *       version 4 UUID; bytes 6 and 8 carry its version and variant).
     * </ol>
     */
    static byte[] deviceIdentification(UUID id) {
        byte[] uuid = uuidBytes(id);
        String hex = HexFormat.of().withUpperCase().formatHex(uuid);
        int t10Length = VENDOR.length() + hex.length();
        int naaLength = 16;
        byte[] b = page(PAGE_IDENTIFICATION, 4 + t10Length + 4 + naaLength);
        int i = 4;
        b[i] = 0x02; // protocol identifier 0, code set 2 (ASCII)
        b[i + 1] = 0x01; // PIV 0, association 0 (logical unit), designator type 1 (T10 vendor ID)
        b[i + 3] = (byte) t10Length;
        Cdb.putAscii(b, i + 4, VENDOR);
        Cdb.putAscii(b, i + 4 + VENDOR.length(), hex);
        i += 4 + t10Length;
        b[i] = 0x01; // code set 1 (binary)
        b[i + 1] = 0x03; // association 0, designator type 3 (NAA)
        b[i + 3] = (byte) naaLength;
        // NAA 6 (4 bits), OUI (24 bits), vendor specific identifier (36 bits), extension (64 bits).
        b[i + 4] = (byte) (0x60 | (MICROSOFT_OUI >>> 20));
        b[i + 5] = (byte) (MICROSOFT_OUI >>> 12);
        b[i + 6] = (byte) (MICROSOFT_OUI >>> 4);
        b[i + 7] = (byte) (MICROSOFT_OUI << 4);
        System.arraycopy(uuid, 0, b, i + 8, 6);
        System.arraycopy(uuid, 10, b, i + 14, 6);
        return b;
    }

    /**
     * VPD 0xB0, block limits (SBC-3, page length 0x3C): WSNZ (a WRITE SAME of zero blocks is
     * refused), the optimal transfer length granularity, the maximum transfer length, and when unmap
     * is supported the unmap limits and granularity; the maximum WRITE SAME length.
     */
    static byte[] blockLimits(int granularityBlocks, int maxTransferBlocks, boolean unmap, int maxUnmapDescriptors,
                              int unmapGranularityBlocks, int maxWriteSameBlocks) {
        byte[] b = page(PAGE_BLOCK_LIMITS, 0x3C);
        b[4] = 0x01; // WSNZ
        Cdb.put16(b, 6, granularityBlocks);
        Cdb.put32(b, 8, maxTransferBlocks);
        if (unmap) {
            Cdb.put32(b, 20, 0xFFFF_FFFFL); // maximum unmap LBA count: no limit
            Cdb.put32(b, 24, maxUnmapDescriptors);
            Cdb.put32(b, 28, unmapGranularityBlocks);
            Cdb.put32(b, 32, 0x8000_0000L); // UGAVALID, alignment 0
        }
        Cdb.put64(b, 36, maxWriteSameBlocks);
        return b;
    }

    /** VPD 0xB1, block device characteristics: medium rotation rate 1 (non-rotating). */
    static byte[] characteristics() {
        byte[] b = page(PAGE_CHARACTERISTICS, 0x3C);
        Cdb.put16(b, 4, 0x0001);
        return b;
    }

    /**
     * VPD 0xB2, logical block provisioning: the threshold exponent for this capacity, LBPU, LBPWS
     * and LBPWS10 (UNMAP and WRITE SAME with the UNMAP bit), LBPRZ clear (a discarded block may read
     * as anything), provisioning type 2 (thin).
     */
    static byte[] provisioning(long blocks) {
        byte[] b = page(PAGE_PROVISIONING, 4);
        int exponent = 1;
        while ((blocks >>> exponent) >= (1L << 32)) {
            exponent++;
        }
        b[4] = (byte) exponent;
        b[5] = (byte) 0xE0;
        b[6] = 0x02;
        return b;
    }

    /** READ CAPACITY(10) data: the last LBA (0xFFFFFFFF when it does not fit) and the block length. */
    static byte[] readCapacity10(long blocks, int blockLength) {
        byte[] b = new byte[8];
        long last = Math.max(blocks - 1, 0);
        Cdb.put32(b, 0, Math.min(last, 0xFFFF_FFFFL));
        Cdb.put32(b, 4, blockLength);
        return b;
    }

    /**
     * READ CAPACITY(16) data, 32 bytes: the last LBA, the block length, one logical block per
     * physical block, LBPME when unmap is supported (LBPRZ clear), lowest aligned LBA 0.
     */
    static byte[] readCapacity16(long blocks, int blockLength, boolean unmap) {
        byte[] b = new byte[32];
        Cdb.put64(b, 0, Math.max(blocks - 1, 0));
        Cdb.put32(b, 8, blockLength);
        if (unmap) {
            b[14] = (byte) 0x80; // LBPME
        }
        return b;
    }

    /**
     * MODE SENSE data: the mode parameter header (6 or 10 byte form) with no block descriptors, the
     * device-specific parameter holding WP (bit 7) for a read-only unit and DPOFUA (bit 4), then the
     * caching page 0x08 with WCE set (current and default values: the disk has a write-back cache)
     * or with nothing set (changeable values: nothing can be changed).
     */
    static byte[] modeSense(boolean tenByte, boolean changeable, boolean writeProtected) {
        int header = tenByte ? 8 : 4;
        byte[] b = new byte[header + CACHING_PAGE_LENGTH];
        int deviceSpecific = (writeProtected ? 0x80 : 0) | 0x10;
        if (tenByte) {
            Cdb.put16(b, 0, b.length - 2);
            b[3] = (byte) deviceSpecific;
        } else {
            b[0] = (byte) (b.length - 1);
            b[2] = (byte) deviceSpecific;
        }
        b[header] = MODE_PAGE_CACHING;
        b[header + 1] = CACHING_PAGE_LENGTH - 2;
        if (!changeable) {
            b[header + 2] = 0x04; // WCE
        }
        return b;
    }

    static byte[] uuidBytes(UUID id) {
        byte[] b = new byte[16];
        Cdb.put64(b, 0, id.getMostSignificantBits());
        Cdb.put64(b, 8, id.getLeastSignificantBits());
        return b;
    }
}
