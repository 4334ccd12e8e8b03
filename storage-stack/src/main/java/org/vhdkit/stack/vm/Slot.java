package org.vhdkit.stack.vm;

import java.util.Comparator;
import java.util.Locale;
import java.util.Objects;

/**
 * A place on a VM's storage controllers: {@code ide:C:D} (IDE controller C, device D: 0 master, 1
 * slave) or {@code scsi:N:L} (synthetic SCSI controller N, LUN L). Written and parsed in that form
 * in configuration files and on the command line.
 *
 * <p>A slot is plain data; whether it exists on a generation-1 VM is checked with the configuration
 * ({@link VmConfiguration#validate()}) or when parsed.
 *
 * <p>Immutable; safe to share between threads.
 */
public record Slot(Bus bus, int controller, int unit) implements Comparable<Slot> {
    /** The two kinds of storage controller of a generation-1 VM. */
    public enum Bus {
        /** The emulated IDE controller: the only one the BIOS boots from and the only one with DVD drives. */
        IDE,
        /** The synthetic SCSI controller (a VSP on VMBus); needs the guest's integration components. */
        SCSI;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final Comparator<Slot> ORDER =
            Comparator.comparing(Slot::bus).thenComparingInt(Slot::controller).thenComparingInt(Slot::unit);

    public Slot {
        Objects.requireNonNull(bus, "bus");
    }

    /** IDE controller {@code controller}, device {@code device} (0 master, 1 slave). */
    public static Slot ide(int controller, int device) {
        return new Slot(Bus.IDE, controller, device);
    }

    /** SCSI controller {@code controller}, LUN {@code lun}. */
    public static Slot scsi(int controller, int lun) {
        return new Slot(Bus.SCSI, controller, lun);
    }

    /** Parses {@code ide:C:D} or {@code scsi:N:L} and checks the slot exists on a generation-1 VM. */
    public static Slot parse(String text) throws VmConfigurationException {
        return parse(text, "slot");
    }

    static Slot parse(String text, String field) throws VmConfigurationException {
        String[] parts = text.split(":", -1);
        Bus bus = null;
        if (parts.length == 3) {
            bus = switch (parts[0].toLowerCase(Locale.ROOT)) {
                case "ide" -> Bus.IDE;
                case "scsi" -> Bus.SCSI;
                default -> null;
            };
        }
        if (bus == null || !isNumber(parts[1]) || !isNumber(parts[2])) {
            throw new VmConfigurationException(field,
                    "'" + text + "' is not a slot; write ide:CONTROLLER:DEVICE or scsi:CONTROLLER:LUN");
        }
        Slot slot = new Slot(bus, Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
        slot.check(field);
        return slot;
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.length() <= 4 && s.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    /** Refuses a slot a generation-1 VM does not have. */
    void check(String field) throws VmConfigurationException {
        switch (bus) {
            case IDE -> {
                if (controller < 0 || controller >= HyperVLimits.IDE_CONTROLLERS) {
                    throw new VmConfigurationException(field, this + " does not exist: a VM has IDE controllers 0 and 1");
                }
                if (unit < 0 || unit >= HyperVLimits.IDE_DEVICES_PER_CONTROLLER) {
                    throw new VmConfigurationException(field,
                            this + " does not exist: an IDE controller has devices 0 (master) and 1 (slave)");
                }
            }
            case SCSI -> {
                if (controller < 0 || controller >= HyperVLimits.SCSI_CONTROLLERS) {
                    throw new VmConfigurationException(field, this + " does not exist: a VM has SCSI controllers 0 to "
                            + (HyperVLimits.SCSI_CONTROLLERS - 1));
                }
                if (unit < 0 || unit >= HyperVLimits.SCSI_LUNS_PER_CONTROLLER) {
                    throw new VmConfigurationException(field, this + " does not exist: a SCSI controller has LUNs 0 to "
                            + (HyperVLimits.SCSI_LUNS_PER_CONTROLLER - 1));
                }
            }
        }
    }

    @Override
    public int compareTo(Slot other) {
        return ORDER.compare(this, other);
    }

    /** {@code ide:C:D} or {@code scsi:N:L}. */
    @Override
    public String toString() {
        return bus.label() + ":" + controller + ":" + unit;
    }
}
