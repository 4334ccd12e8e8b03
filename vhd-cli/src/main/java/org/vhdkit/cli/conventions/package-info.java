/**
 * What every {@code vhd} command shares, so that all of them behave alike: the {@code --output}
 * option and the JSON they write ({@link org.vhdkit.cli.conventions.OutputOption},
 * {@link org.vhdkit.cli.conventions.Json}), human output ({@code AlignedLines}, {@code Size},
 * {@code ProgressBar}), file arguments ({@code FileArguments}), and how a failure becomes one
 * {@code "vhd: "} line on stderr and an exit code ({@code CommandFailure}, {@code ErrorReporter},
 * {@code ExitCodes}). No command lives here.
 */
package org.vhdkit.cli.conventions;
