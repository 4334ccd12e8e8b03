package org.vhdkit.cli.vm;

import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.OutputOption;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * What every {@code vhd vm} subcommand has: its spec, the {@code vm} command above it (the VM root,
 * the host when one runs) and {@code --output}.
 *
 * <p>Thread-safety: a command object serves one run on one thread.
 */
abstract class VmSubcommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    VmCommand vm;

    @Mixin
    OutputOption output;
}
