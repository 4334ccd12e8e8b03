package org.vhdkit.vhd.check;

import java.util.Objects;

/**
 * One thing a check found wrong or odd in an image.
 *
 * <p>Records are immutable and safe to share between threads.
 *
 * @param severity   how bad it is
 * @param code       a stable name for the kind of finding, e.g. {@code FOOTER_CHECKSUM}, for scripts;
 *                   {@link ImageCheck} lists them all
 * @param message    one line naming the structure, field and absolute file offset, and what is wrong
 *                   with the value found, e.g. {@code footer Checksum at offset 10486336 (0xa00240):
 *                   stored 0x1234abcd, computed 0xffffef01}
 * @param offset     the absolute file offset of the field or structure, or -1 when there is no single one
 * @param repairable whether {@link ImageCheck#repair} fixes it (without guessing)
 * @param repaired   whether a repair fixed it; never true for a finding that is not repairable
 * @param action     for a repairable finding, what the repair does (or did); otherwise why it cannot
 *                   be repaired, or what else can be done
 */
public record Finding(Severity severity, String code, String message, long offset, boolean repairable,
                      boolean repaired, String action) {
    /**
     * @throws NullPointerException     when an object component is null
     * @throws IllegalArgumentException when {@code repaired} is set but {@code repairable} is not, or
     *                                  the offset is below -1
     */
    public Finding {
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(action, "action");
        if (repaired && !repairable) {
            throw new IllegalArgumentException(code + ": repaired but not repairable");
        }
        if (offset < -1) {
            throw new IllegalArgumentException(code + ": offset " + offset);
        }
    }

    /** This finding, marked as repaired. */
    Finding asRepaired() {
        return new Finding(severity, code, message, offset, repairable, true, action);
    }

    /** Whether this finding still counts against the image: it was not repaired. */
    public boolean remains() {
        return !repaired;
    }
}
