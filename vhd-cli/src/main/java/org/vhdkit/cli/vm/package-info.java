/**
 * {@code vhd vm ...}: the VMs of a folder, over storage-stack's hypervisor. {@link
 * org.vhdkit.cli.vm.VmCommand} is the entry point, one {@code Vm*Command} class per subcommand
 * (create, list, show, set, attach, detach, dvd, start, run, save, pause, stop, check, snapshot, ...).
 * {@code VmHost} is the process that hosts running VMs and serves the other {@code vhd vm} runs
 * through a socket in the folder; {@code VmSlotOptions}, {@code VmHotPlug}, {@code VmLog} and {@code VmDescription} are what
 * the subcommands share; {@code SnapshotListing} shows a snapshot tree.
 */
package org.vhdkit.cli.vm;
