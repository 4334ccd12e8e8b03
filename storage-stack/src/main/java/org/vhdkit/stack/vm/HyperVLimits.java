package org.vhdkit.stack.vm;

import org.vhdkit.stack.memory.GuestMemory;

/**
 * The limits of a Hyper-V (Server 2008 R2) generation-1 VM, in one place. Configuration checks and
 * their messages use these; so should the device layer and the CLI.
 *
 * <p>Source: Microsoft's published limits, as summed up in the storage protocol notes.
 */
public final class HyperVLimits {
    /** The least guest memory a VM may have: 8 MiB. */
    public static final long MIN_MEMORY_BYTES = 8L << 20;
    /** The most guest memory a VM may have: 64 GiB, Server 2008's limit per VM. */
    public static final long MAX_MEMORY_BYTES = 64L << 30;
    /** Guest memory comes in whole pages. */
    public static final long MEMORY_GRANULE_BYTES = GuestMemory.PAGE_SIZE;
    /** Virtual processors per VM, as Server 2008 allowed. */
    public static final int MAX_VIRTUAL_PROCESSORS = 4;
    /** IDE controllers (channels) per VM. */
    public static final int IDE_CONTROLLERS = 2;
    /** Devices per IDE controller (master and slave). */
    public static final int IDE_DEVICES_PER_CONTROLLER = 2;
    /** Synthetic SCSI controllers per VM. */
    public static final int SCSI_CONTROLLERS = 4;
    /** Disks per synthetic SCSI controller. */
    public static final int SCSI_LUNS_PER_CONTROLLER = 64;
    /** Snapshots per VM. */
    public static final int MAX_SNAPSHOTS = 50;
    /** The longest VM name, in characters. */
    public static final int MAX_NAME_LENGTH = 100;

    private HyperVLimits() {
    }
}
