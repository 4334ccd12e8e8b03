/**
 * The {@code vhd} command's front door: {@link org.vhdkit.cli.VhdCommand} (the jar's main class)
 * parses the command line and hands it to a subcommand of a family package:
 * {@code org.vhdkit.cli.disk} for the commands on VHD files, {@code org.vhdkit.cli.vm} for
 * {@code vhd vm ...}. What every command shares (options, output, errors, exit codes) is in
 * {@code org.vhdkit.cli.conventions}; the version and the shell completion script, which belong to
 * the command as a whole, are here.
 */
package org.vhdkit.cli;
