/**
 * JMH micro-benchmarks of the hot inner paths: the BAT lookup, reads and writes on fixed, dynamic
 * and differencing disks, SCSI command decode and NBD request decode. The benchmarks of
 * package-private code (sector-bitmap runs, the VMBus ring) sit in those packages' names in this
 * module ({@code org.vhdkit.vhd.image}, {@code org.vhdkit.stack.vmbus}), which the class path
 * allows. Run: {@code java -jar vhd-bench/target/benchmarks.jar} (BENCHMARKS.md).
 */
package org.vhdkit.bench;
