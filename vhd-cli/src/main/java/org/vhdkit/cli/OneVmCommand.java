package org.vhdkit.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * What every {@code vhd vm} command about one existing VM has: its spec, the {@code vm} command
 * above it (the VM root, the host when one runs), {@code --output}, and the VM's name as its first
 * parameter.
 *
 * <p>Thread-safety: a command object serves one run on one thread.
 */
abstract class OneVmCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    VmCommand vm;

    @Mixin
    OutputOption output;

    @Parameters(index = "0", paramLabel = "NAME", description = "The VM.")
    String name;
}
