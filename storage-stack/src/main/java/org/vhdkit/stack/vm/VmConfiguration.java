package org.vhdkit.stack.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * A VM's configuration: what Hyper-V keeps in a VM's configuration file. Purely declarative: it
 * names the disks but opens none. Stored as {@code config.json} in the VM's folder (see
 * {@link Hypervisor}).
 *
 * <ul>
 *   <li>{@code name}: unique among the VMs of one hypervisor folder; up to 100 characters.
 *   <li>{@code id}: the VM's identity, fixed for its life; its folder is named after it.
 *   <li>{@code memoryBytes}: guest memory, 8 MiB to 64 GiB, whole 4 KiB pages.
 *   <li>{@code processors}: 1 to 4 virtual processors.
 *   <li>{@code integrationComponents}: whether the parent offers the guest the integration services
 *       (shutdown, and the synthetic devices' guest side).
 *   <li>{@code attachments}: what sits at each controller slot, in the order they were added.
 *   <li>{@code bootOrder}: the slots the BIOS tries, in order; IDE slots only.
 *   <li>{@code engine}: what runs the guest ({@link GuestEngine}): the in-JVM guest programs (the
 *       default) or a real guest in qemu.
 * </ul>
 *
 * <p>A record may hold values that break the rules; {@link #validate()} checks them all and is
 * called before a configuration is stored or used. The {@code with...} methods return changed
 * copies without checking.
 *
 * <p>Immutable; safe to share between threads.
 */
public record VmConfiguration(
        String name,
        UUID id,
        long memoryBytes,
        int processors,
        boolean integrationComponents,
        List<Attachment> attachments,
        List<Slot> bootOrder,
        GuestEngine engine) {

    public VmConfiguration {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(engine, "engine");
        attachments = List.copyOf(attachments);
        bootOrder = List.copyOf(bootOrder);
    }

    /** A new VM's configuration: a fresh id, integration components on, nothing attached. */
    public static VmConfiguration create(String name, long memoryBytes, int processors) {
        return new VmConfiguration(name, UUID.randomUUID(), memoryBytes, processors, true, List.of(), List.of(),
                GuestEngine.PROGRAMS);
    }

    public VmConfiguration withName(String newName) {
        return new VmConfiguration(newName, id, memoryBytes, processors, integrationComponents, attachments, bootOrder, engine);
    }

    public VmConfiguration withMemoryBytes(long bytes) {
        return new VmConfiguration(name, id, bytes, processors, integrationComponents, attachments, bootOrder, engine);
    }

    public VmConfiguration withProcessors(int count) {
        return new VmConfiguration(name, id, memoryBytes, count, integrationComponents, attachments, bootOrder, engine);
    }

    public VmConfiguration withIntegrationComponents(boolean on) {
        return new VmConfiguration(name, id, memoryBytes, processors, on, attachments, bootOrder, engine);
    }

    /** Adds {@code attachment} (validation refuses it if its slot is taken). */
    public VmConfiguration withAttachment(Attachment attachment) {
        List<Attachment> list = new ArrayList<>(attachments);
        list.add(attachment);
        return new VmConfiguration(name, id, memoryBytes, processors, integrationComponents, list, bootOrder, engine);
    }

    /**
     * The DVD drive at {@code slot} holding {@code iso}, or empty when it is null; its place in the
     * attachments and the boot order stay.
     *
     * @throws IllegalArgumentException when there is no DVD drive at {@code slot}
     */
    public VmConfiguration withMedia(Slot slot, Path iso) {
        Attachment drive = attachment(slot).filter(a -> a.kind() == Attachment.Kind.DVD)
                .orElseThrow(() -> new IllegalArgumentException("no DVD drive at " + slot));
        Attachment changed = iso == null ? Attachment.emptyDvd(drive.slot()) : Attachment.dvd(drive.slot(), iso);
        List<Attachment> list = attachments.stream().map(a -> a == drive ? changed : a).toList();
        return new VmConfiguration(name, id, memoryBytes, processors, integrationComponents, list, bootOrder, engine);
    }

    /** Removes whatever is attached at {@code slot}, and the slot from the boot order. */
    public VmConfiguration withoutAttachment(Slot slot) {
        List<Attachment> list = attachments.stream().filter(a -> !a.slot().equals(slot)).toList();
        List<Slot> boot = bootOrder.stream().filter(s -> !s.equals(slot)).toList();
        return new VmConfiguration(name, id, memoryBytes, processors, integrationComponents, list, boot, engine);
    }

    public VmConfiguration withBootOrder(List<Slot> order) {
        return new VmConfiguration(name, id, memoryBytes, processors, integrationComponents, attachments, order, engine);
    }

    public VmConfiguration withEngine(GuestEngine next) {
        return new VmConfiguration(name, id, memoryBytes, processors, integrationComponents, attachments, bootOrder, next);
    }

    /** What is attached at {@code slot}, if anything. */
    public Optional<Attachment> attachment(Slot slot) {
        return attachments.stream().filter(a -> a.slot().equals(slot)).findFirst();
    }

    /**
     * Checks every rule and returns this configuration, or refuses with the first broken rule,
     * naming the field and the rule. Reads the file system only to tell whether two attachment
     * paths are the same file.
     */
    public VmConfiguration validate() throws VmConfigurationException {
        checkName(name);
        checkMemory(memoryBytes);
        checkProcessors(processors);
        checkAttachments();
        checkBootOrder();
        engine.check("engine");
        return this;
    }

    static void checkName(String name) throws VmConfigurationException {
        if (name.isBlank()) {
            throw new VmConfigurationException("name", "a VM needs a name");
        }
        if (!name.strip().equals(name)) {
            throw new VmConfigurationException("name", "'" + name + "' begins or ends with white space");
        }
        if (name.length() > HyperVLimits.MAX_NAME_LENGTH) {
            throw new VmConfigurationException("name", "a VM name has at most " + HyperVLimits.MAX_NAME_LENGTH
                    + " characters, not " + name.length());
        }
        if (name.chars().anyMatch(Character::isISOControl)) {
            throw new VmConfigurationException("name", "a VM name cannot hold control characters");
        }
    }

    static void checkMemory(long bytes) throws VmConfigurationException {
        if (bytes < HyperVLimits.MIN_MEMORY_BYTES) {
            throw new VmConfigurationException("memoryBytes", describe(bytes) + " is below the minimum of "
                    + describe(HyperVLimits.MIN_MEMORY_BYTES) + " a VM needs");
        }
        if (bytes > HyperVLimits.MAX_MEMORY_BYTES) {
            throw new VmConfigurationException("memoryBytes", describe(bytes) + " is above the maximum of "
                    + describe(HyperVLimits.MAX_MEMORY_BYTES) + " a VM may have");
        }
        if (bytes % HyperVLimits.MEMORY_GRANULE_BYTES != 0) {
            throw new VmConfigurationException("memoryBytes", bytes + " bytes is not a whole number of 4 KiB pages");
        }
    }

    static void checkProcessors(int count) throws VmConfigurationException {
        if (count < 1) {
            throw new VmConfigurationException("processors", "a VM needs at least 1 virtual processor, not " + count);
        }
        if (count > HyperVLimits.MAX_VIRTUAL_PROCESSORS) {
            throw new VmConfigurationException("processors", count + " is more than the "
                    + HyperVLimits.MAX_VIRTUAL_PROCESSORS + " virtual processors a VM may have");
        }
    }

    private void checkAttachments() throws VmConfigurationException {
        Map<Slot, Integer> slots = new HashMap<>();
        List<Path> paths = new ArrayList<>();
        List<Integer> pathIndex = new ArrayList<>();
        for (int i = 0; i < attachments.size(); i++) {
            Attachment a = attachments.get(i);
            String field = "attachments[" + i + "]";
            a.slot().check(field + ".slot");
            Integer earlier = slots.putIfAbsent(a.slot(), i);
            if (earlier != null) {
                throw new VmConfigurationException(field + ".slot", a.slot() + " already holds "
                        + what(attachments.get(earlier)) + "; detach it first");
            }
            if (a.kind() == Attachment.Kind.DVD) {
                if (a.slot().bus() != Slot.Bus.IDE) {
                    throw new VmConfigurationException(field, "a DVD drive can only be attached to IDE (a generation-1 VM"
                            + " has no SCSI DVD drives), not to " + a.slot());
                }
                if (!a.readOnly()) {
                    throw new VmConfigurationException(field + ".readOnly", "a DVD drive is always read-only");
                }
            } else if (a.path() == null) {
                throw new VmConfigurationException(field + ".path", "a " + (a.kind() == Attachment.Kind.DISK
                        ? "disk" : "pass-through disk") + " needs a path");
            }
            if (a.path() == null) {
                continue;
            }
            if (!a.path().isAbsolute()) {
                throw new VmConfigurationException(field + ".path", "'" + a.path() + "' is relative; give an absolute path");
            }
            Path normal = a.path().normalize();
            for (int j = 0; j < paths.size(); j++) {
                if (sameFile(paths.get(j), normal)) {
                    Attachment other = attachments.get(pathIndex.get(j));
                    throw new VmConfigurationException(field + ".path", a.path() + " is already attached at "
                            + other.slot() + "; a file can be attached to a VM once");
                }
            }
            paths.add(normal);
            pathIndex.add(i);
        }
    }

    private static String what(Attachment a) {
        return switch (a.kind()) {
            case DISK -> "the disk " + a.path();
            case DVD -> a.path() == null ? "an empty DVD drive" : "a DVD drive with " + a.path();
            case PASS_THROUGH -> "the pass-through disk " + a.path();
        };
    }

    private static boolean sameFile(Path a, Path b) {
        if (a.equals(b)) {
            return true;
        }
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    private void checkBootOrder() throws VmConfigurationException {
        Set<Slot> seen = new HashSet<>();
        for (int i = 0; i < bootOrder.size(); i++) {
            Slot s = bootOrder.get(i);
            String field = "bootOrder[" + i + "]";
            if (s.bus() != Slot.Bus.IDE) {
                throw new VmConfigurationException(field, s + " is on SCSI; the BIOS of a generation-1 VM boots only"
                        + " from IDE, so put the boot disk on IDE");
            }
            s.check(field);
            if (attachment(s).isEmpty()) {
                throw new VmConfigurationException(field, "nothing is attached at " + s);
            }
            if (!seen.add(s)) {
                throw new VmConfigurationException(field, s + " is listed twice");
            }
        }
    }

    /** Bytes in the largest unit that shows them whole: "8 MiB", "1 GiB", "12345 bytes". */
    static String describe(long bytes) {
        if (bytes > 0 && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + " GiB";
        }
        if (bytes > 0 && bytes % (1L << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes > 0 && bytes % (1L << 10) == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " bytes";
    }
}
