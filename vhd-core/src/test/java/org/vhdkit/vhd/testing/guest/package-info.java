/**
 * A real Linux guest for tests: {@link org.vhdkit.vhd.testing.guest.LinuxGuest} boots Debian's own
 * kernel in qemu-system-x86_64 (TCG unless asked otherwise) with an initramfs built from the
 * machine's packages (busybox-static, the kernel's storage modules, e2fsprogs), and runs shell
 * commands in it over a second serial port. {@link org.vhdkit.vhd.testing.guest.BootDisk} is the
 * same kernel and initramfs on a small VHD that a PC BIOS boots (MBR, SYSLINUX, FAT), for VMs a
 * test starts itself (plain qemu, {@code vhd vm}); {@link org.vhdkit.vhd.testing.guest.GuestConsole}
 * runs commands in such a guest over its one serial port, and
 * {@link org.vhdkit.vhd.testing.guest.Qmp} talks to any qemu's monitor.
 *
 * <p>The room's parts, all package-private: {@code GuestKernel} finds the installed kernel and
 * unpacks its bzImage to the ELF vmlinux that qemu boots through the PVH entry; {@code ModuleSet}
 * resolves the wanted modules' dependencies from {@code modules.dep}; {@code Initramfs} lays out
 * the guest's files and {@code Cpio} writes them; {@code GuestChannel} is the marker protocol on
 * the command port; {@code GuestCache} keeps what was built under the user's cache folder, keyed
 * by a hash of its inputs, so that only the first run on a machine builds anything.
 */
package org.vhdkit.vhd.testing.guest;
