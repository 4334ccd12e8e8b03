package org.vhdkit.vhd;

import java.util.Objects;
import org.vhdkit.vhd.format.Footer;

/**
 * The creator fields a new image's footer carries: application, its version, and the host OS.
 *
 * @param application four characters, e.g. {@code "win "}
 * @param version     major version in the high 16 bits, minor in the low
 * @param hostOs      four characters as a big-endian int, e.g. {@link Footer#HOST_WINDOWS}
 */
public record Creator(String application, int version, int hostOs) {
    /**
     * What vhdkit writes unless told otherwise: the creator fields of Hyper-V on Windows 10
     * ({@code win }, 10.0, {@code Wi2k}). vhdkit lays images out as Hyper-V does, and qemu-img
     * takes a footer's Current Size as the disk's size only for a short list of creators, {@code win }
     * among them; for any other creator it reports the CHS product, which is smaller than the size
     * the user asked for. Naming Hyper-V keeps the size the same in every tool.
     */
    public static final Creator HYPER_V = new Creator("win ", 0x000A0000, Footer.HOST_WINDOWS);

    public Creator {
        Objects.requireNonNull(application, "application");
        if (application.length() != 4 || !application.chars().allMatch(c -> c < 0x100)) {
            throw new IllegalArgumentException("creator application must be four Latin-1 characters: '" + application + "'");
        }
    }
}
