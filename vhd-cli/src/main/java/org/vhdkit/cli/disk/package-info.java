/**
 * The commands on VHD files: {@code create}, {@code info}, {@code check}, {@code map},
 * {@code compare}, {@code digest}, {@code convert}, {@code compact}, {@code measure},
 * {@code resize}, {@code merge}, {@code rebase}, {@code set}, {@code serve} (an NBD export through
 * vhd-export), {@code mount} and {@code unmount} (a FUSE mount through vhd-export), one
 * {@code *Command} class each, with what only they use: the parsing of disk arguments
 * ({@code DiskArguments}), the disk {@code serve} and {@code mount} take, a file or a VM's disk or
 * snapshot ({@code DiskSource}), and the report of
 * {@code info} ({@code InfoReport}, {@code DiskSummary}, {@code LayerFacts}, {@code FourCharacterCode}).
 * Each command is a thin layer over vhd-core: it reads its options, calls the library and prints the
 * result in the conventions of {@link org.vhdkit.cli.conventions}.
 */
package org.vhdkit.cli.disk;
