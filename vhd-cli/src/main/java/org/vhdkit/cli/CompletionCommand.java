package org.vhdkit.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.ExitCodes;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code vhd completion}: picocli's bash/zsh completion script for the whole command tree. */
@Command(name = "completion",
        description = {
            "Prints a bash (or zsh) completion script for vhd.",
            "Load it in the current shell with: source <(vhd completion); or save it, e.g. to"
                    + " /etc/bash_completion.d/vhd."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  source <(vhd completion)",
            "  vhd completion > ~/.local/share/bash-completion/completions/vhd"})
final class CompletionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.print(AutoComplete.bash(spec.root().name(), spec.root().commandLine()));
        out.flush();
        return ExitCodes.OK;
    }
}
