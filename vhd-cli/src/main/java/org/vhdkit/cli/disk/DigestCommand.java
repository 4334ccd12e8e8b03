package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.cli.conventions.ProgressBar;
import org.vhdkit.vhd.content.DigestAlgorithm;
import org.vhdkit.vhd.content.DiskContents;
import org.vhdkit.vhd.content.DiskDigest;
import org.vhdkit.vhd.disk.VirtualDisk;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code vhd digest}: a cryptographic digest of what disks hold, read-only.
 *
 * <p>Human output is one line per file as {@code sha256sum} and {@code b3sum} print them: the digest
 * in lower-case hex, two spaces, the file as named. So for a raw image the line is exactly theirs.
 *
 * <p>The JSON document ({@code --output json}) is an object:
 * <pre>
 * algorithm  "sha256" or "blake3"
 * disks      [{file (as named), type ("raw", "fixed", "dynamic" or "differencing"), size (virtual, bytes),
 *            digest (lower-case hex)}], in the order given
 * warnings   array of strings, from every file and parent
 * </pre>
 *
 * <p>Files are digested one after another; the first that cannot be read ends the command with its
 * error (lines already printed stay printed; with --output json nothing is printed).
 */
@Command(name = "digest",
        description = {
            "Prints a SHA-256 or BLAKE3 digest of what each disk holds: its virtual contents, not its file.",
            "A raw image, a fixed, dynamic or differencing VHD holding the same bytes have the same digest,"
                    + " which is what sha256sum (or b3sum) prints for those bytes written out as a raw file.",
            "Each FILE is a VHD (recognised by its footer; a differencing disk is read through its parents)"
                    + " or else a raw disk image. Opens the files read-only; ranges no layer holds are not read."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd digest disk.vhd",
            "  vhd digest -a blake3 child.vhd flat.img   # same bytes, same digest",
            "  vhd digest -q --output json disk.vhd | jq -r '.disks[0].digest'"})
public final class DigestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @Option(names = {"-a", "--algorithm"}, paramLabel = "ALGORITHM", converter = AlgorithmConverter.class,
            completionCandidates = AlgorithmNames.class,
            description = "sha256 (the default) or blake3")
    DigestAlgorithm algorithm = DigestAlgorithm.SHA256;

    @Option(names = {"-q", "--quiet"}, description = "Show no progress bar (shown on stderr only when it is a terminal).")
    boolean quiet;

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "The disks: VHD files or raw images.")
    List<Path> files;

    /** One disk's digest in the JSON. */
    record Digested(String file, String type, long size, String digest) {
    }

    /** The JSON document. */
    record Report(String algorithm, List<Digested> disks, List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Digested> digested = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (Path file : files) {
            DiskDigest digest;
            String type;
            try (VirtualDisk disk = DiskArguments.openReadOnly(file)) {
                type = DiskArguments.type(disk);
                List<String> own = DiskArguments.warnings(disk);
                if (!output.json()) {
                    own.forEach(w -> err.println("vhd: warning: " + w));
                    err.flush();
                }
                own.stream().filter(w -> !warnings.contains(w)).forEach(warnings::add);
                try (ProgressBar bar = ProgressBar.start("Digesting " + file.getFileName(), quiet)) {
                    digest = DiskContents.digest(disk, algorithm, bar);
                }
            } catch (IOException e) {
                throw FileArguments.naming(file, e);
            }
            digested.add(new Digested(file.toString(), type, digest.size(), digest.hex()));
            if (!output.json()) {
                out.println(digest.hex() + "  " + file);
                out.flush();
            }
        }
        if (output.json()) {
            Json.print(out, new Report(algorithm.label(), digested, warnings));
            out.flush();
        }
        return ExitCodes.OK;
    }

    /** Reads --algorithm in any case, also as SHA-256. */
    static final class AlgorithmConverter implements CommandLine.ITypeConverter<DigestAlgorithm> {
        @Override
        public DigestAlgorithm convert(String value) {
            try {
                return DigestAlgorithm.byName(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** The names shell completion offers for --algorithm. */
    static final class AlgorithmNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return java.util.Arrays.stream(DigestAlgorithm.values()).map(DigestAlgorithm::label).iterator();
        }
    }
}
