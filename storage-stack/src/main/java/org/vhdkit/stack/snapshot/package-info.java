/**
 * The snapshot tree of a VM, as Hyper-V keeps it: take, apply, revert, delete (with merge),
 * rename, list and export snapshots, built from differencing disks (AVHD files) in the VM's folder.
 * {@link org.vhdkit.stack.snapshot.Snapshots} is the entry point; see it for the files, the model
 * and how every change survives a crash. It hands each job to a package-private class (queries,
 * operations, the crash journal and recovery, the collapse of unused files, check and repair) and
 * gives the tree as data ({@link org.vhdkit.stack.snapshot.SnapshotTree}) for callers to show.
 */
package org.vhdkit.stack.snapshot;
