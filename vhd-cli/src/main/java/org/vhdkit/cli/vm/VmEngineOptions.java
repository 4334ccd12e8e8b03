package org.vhdkit.cli.vm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.vhdkit.stack.vm.GuestEngine;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The engine options of {@code vhd vm create} and {@code vhd vm set} ({@code @Mixin}): what runs
 * the guest ({@code --engine programs|qemu}), a direct kernel boot ({@code --kernel},
 * {@code --initrd}, {@code --append}; {@code none} removes one) and the accelerator
 * ({@code --accel auto|kvm|tcg}). Paths are made absolute against the working directory; the
 * configuration's rules ({@link GuestEngine}) are checked when it is stored.
 */
final class VmEngineOptions {
    @Option(names = "--engine", paramLabel = "programs|qemu", converter = KindConverter.class,
            description = "What runs the guest: programs (vhdkit's built-in guest programs, the default) or qemu (a"
                    + " real operating system in qemu-system-x86_64, its storage served by vhdkit).")
    GuestEngine.Kind kind;

    @Option(names = "--kernel", paramLabel = "FILE", description = "With --engine qemu: boot this Linux kernel directly"
            + " instead of through the BIOS; 'none' boots through the BIOS again.")
    String kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "With --kernel: the initial RAM disk; 'none' for none.")
    String initrd;

    @Option(names = "--append", paramLabel = "LINE", description = "With --kernel: the kernel command line, e.g."
            + " 'console=ttyS0'; 'none' for none.")
    String append;

    @Option(names = "--accel", paramLabel = "auto|kvm|tcg", converter = AccelConverter.class,
            description = "With --engine qemu: the accelerator; auto (the default) uses TCG unless the host has real"
                    + " hardware virtualisation.")
    GuestEngine.Accelerator accel;

    /** Whether any engine option was given. */
    boolean given() {
        return kind != null || kernel != null || initrd != null || append != null || accel != null;
    }

    /** {@code engine} with the options given applied, and the JSON names of the settings that changed. */
    GuestEngine apply(GuestEngine engine, List<String> changed) {
        GuestEngine next = engine;
        if (kind != null) {
            next = kind == GuestEngine.Kind.PROGRAMS ? GuestEngine.PROGRAMS : next.withKind(kind);
        }
        if (accel != null) {
            next = next.withAccel(accel);
        }
        if (kernel != null) {
            next = next.withKernel(path(kernel));
            if (next.kernel() == null) { // back to the BIOS: the kernel's companions go too
                next = next.withInitrd(null).withAppend(null);
            }
        }
        if (initrd != null) {
            next = next.withInitrd(path(initrd));
        }
        if (append != null) {
            next = next.withAppend(append.equalsIgnoreCase("none") ? null : append);
        }
        List<String> names = new ArrayList<>();
        if (next.kind() != engine.kind()) {
            names.add("engine");
        }
        if (next.accel() != engine.accel()) {
            names.add("accel");
        }
        if (!java.util.Objects.equals(next.kernel(), engine.kernel())) {
            names.add("kernel");
        }
        if (!java.util.Objects.equals(next.initrd(), engine.initrd())) {
            names.add("initrd");
        }
        if (!java.util.Objects.equals(next.append(), engine.append())) {
            names.add("append");
        }
        changed.addAll(names);
        return next;
    }

    /** Refuses options that need --engine qemu on a VM run by the guest programs. */
    void check(CommandSpec spec, GuestEngine result) {
        if (!result.realGuest() && (kernel != null && !kernel.equalsIgnoreCase("none") || initrd != null
                && !initrd.equalsIgnoreCase("none") || append != null && !append.equalsIgnoreCase("none")
                || accel != null && accel != GuestEngine.Accelerator.AUTO)) {
            throw new ParameterException(spec.commandLine(), "--kernel, --initrd, --append and --accel are for a real"
                    + " guest; add --engine qemu");
        }
    }

    private static Path path(String text) {
        return text.equalsIgnoreCase("none") ? null : Path.of(text).toAbsolutePath().normalize();
    }

    /** One line per engine setting, for {@code vhd vm show}. */
    static String describe(GuestEngine e) {
        if (!e.realGuest()) {
            return "programs (vhdkit's guest programs)";
        }
        String boot = e.kernel() == null ? "BIOS boot" : "kernel " + e.kernel() + (e.initrd() == null ? ""
                : ", initrd " + e.initrd()) + (e.append() == null ? "" : ", append '" + e.append() + "'");
        return "qemu (accel " + e.accel().label() + "; " + boot + ")";
    }

    /** Reads an engine name in any case. */
    static final class KindConverter implements CommandLine.ITypeConverter<GuestEngine.Kind> {
        @Override
        public GuestEngine.Kind convert(String value) {
            GuestEngine.Kind k = GuestEngine.Kind.ofLabel(value.strip());
            if (k == null) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not an engine; use programs or qemu");
            }
            return k;
        }
    }

    /** Reads an accelerator name in any case. */
    static final class AccelConverter implements CommandLine.ITypeConverter<GuestEngine.Accelerator> {
        @Override
        public GuestEngine.Accelerator convert(String value) {
            GuestEngine.Accelerator a = GuestEngine.Accelerator.ofLabel(value.strip());
            if (a == null) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not an accelerator; use auto, kvm or"
                        + " tcg");
            }
            return a;
        }
    }
}
