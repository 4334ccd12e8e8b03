package org.vhdkit.cli.vm;

import picocli.CommandLine.Parameters;

/**
 * A {@code vhd vm} subcommand about one existing VM: the VM's name is its first parameter.
 *
 * <p>Thread-safety: a command object serves one run on one thread.
 */
abstract class OneVmCommand extends VmSubcommand {
    @Parameters(index = "0", paramLabel = "NAME", description = "The VM.")
    String name;
}
