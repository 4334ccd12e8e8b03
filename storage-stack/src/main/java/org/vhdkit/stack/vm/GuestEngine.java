package org.vhdkit.stack.vm;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * What runs a VM's guest: the in-JVM guest programs ({@link Kind#PROGRAMS}, the default, kept for
 * the deterministic and hostile-guest tests), or a real operating system in a qemu process per VM
 * ({@link Kind#QEMU}), whose storage vhdkit serves. A qemu guest boots through its firmware
 * (SeaBIOS, from the configured IDE boot order) or, with {@code kernel} set, directly into a Linux
 * kernel with an optional {@code initrd} and kernel command line {@code append}.
 *
 * <ul>
 *   <li>{@code accel}: {@code auto} (TCG unless the host has real hardware virtualisation; see the
 *       worker), {@code kvm} or {@code tcg}. Only meaningful for qemu.
 *   <li>{@code kernel}, {@code initrd}: absolute paths; an initrd only with a kernel.
 *   <li>{@code append}: the kernel command line, only with a kernel; at most
 *       {@link #MAX_APPEND_LENGTH} characters, no control characters.
 * </ul>
 *
 * <p>Immutable; safe to share between threads.
 */
public record GuestEngine(Kind kind, Accelerator accel, Path kernel, Path initrd, String append) {
    /** The longest kernel command line accepted (Linux's COMMAND_LINE_SIZE on x86). */
    public static final int MAX_APPEND_LENGTH = 2048;

    /** The in-JVM guest programs: every configuration without an engine. */
    public static final GuestEngine PROGRAMS = new GuestEngine(Kind.PROGRAMS, Accelerator.AUTO, null, null, null);

    /** What runs the guest. */
    public enum Kind {
        /** Java guest programs on the in-JVM child partition. */
        PROGRAMS,
        /** A real guest in qemu-system-x86_64. */
        QEMU;

        /** The name in configuration files and on the command line. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The kind named {@code label} (any case), or null. */
        public static Kind ofLabel(String label) {
            for (Kind k : values()) {
                if (k.label().equalsIgnoreCase(label)) {
                    return k;
                }
            }
            return null;
        }
    }

    /** How a qemu guest's processors run. */
    public enum Accelerator {
        /** TCG unless the host has real hardware virtualisation. */
        AUTO,
        /** KVM, as asked. */
        KVM,
        /** qemu's translator. */
        TCG;

        /** The name in configuration files and on the command line. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The accelerator named {@code label} (any case), or null. */
        public static Accelerator ofLabel(String label) {
            for (Accelerator a : values()) {
                if (a.label().equalsIgnoreCase(label)) {
                    return a;
                }
            }
            return null;
        }
    }

    public GuestEngine {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(accel, "accel");
    }

    /** A qemu guest booting through its firmware, accelerator {@code auto}. */
    public static GuestEngine qemu() {
        return new GuestEngine(Kind.QEMU, Accelerator.AUTO, null, null, null);
    }

    /** Whether a real guest runs in qemu (else the in-JVM programs). */
    public boolean realGuest() {
        return kind == Kind.QEMU;
    }

    public GuestEngine withKind(Kind k) {
        return new GuestEngine(k, accel, kernel, initrd, append);
    }

    public GuestEngine withAccel(Accelerator a) {
        return new GuestEngine(kind, a, kernel, initrd, append);
    }

    /** With a direct kernel boot from {@code path}, or firmware boot when null. */
    public GuestEngine withKernel(Path path) {
        return new GuestEngine(kind, accel, path, initrd, append);
    }

    public GuestEngine withInitrd(Path path) {
        return new GuestEngine(kind, accel, kernel, path, append);
    }

    public GuestEngine withAppend(String line) {
        return new GuestEngine(kind, accel, kernel, initrd, line);
    }

    /** Checks the engine's rules, naming fields under {@code field} ("engine"). */
    void check(String field) throws VmConfigurationException {
        if (kind == Kind.PROGRAMS && (kernel != null || initrd != null || append != null || accel != Accelerator.AUTO)) {
            throw new VmConfigurationException(field, "a kernel, an initrd, a kernel command line and an accelerator"
                    + " are for a real guest (engine qemu), not for the in-JVM guest programs");
        }
        checkPath(kernel, field + ".kernel");
        checkPath(initrd, field + ".initrd");
        if (kernel == null && initrd != null) {
            throw new VmConfigurationException(field + ".initrd", "an initrd needs a kernel to boot with it");
        }
        if (append != null) {
            if (kernel == null) {
                throw new VmConfigurationException(field + ".append", "a kernel command line needs a kernel to boot");
            }
            if (append.length() > MAX_APPEND_LENGTH) {
                throw new VmConfigurationException(field + ".append", "a kernel command line has at most "
                        + MAX_APPEND_LENGTH + " characters, not " + append.length());
            }
            if (append.chars().anyMatch(Character::isISOControl)) {
                throw new VmConfigurationException(field + ".append", "a kernel command line cannot hold control"
                        + " characters");
            }
        }
    }

    private static void checkPath(Path p, String field) throws VmConfigurationException {
        if (p == null) {
            return;
        }
        if (!p.isAbsolute()) {
            throw new VmConfigurationException(field, "'" + p + "' is relative; give an absolute path");
        }
    }
}
