package org.vhdkit.cli.disk;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.cli.conventions.FileArguments;
import org.vhdkit.cli.conventions.Json;
import org.vhdkit.cli.conventions.OutputOption;
import org.vhdkit.vhd.edit.FooterChanges;
import org.vhdkit.vhd.edit.ImageEdits;
import org.vhdkit.vhd.edit.SetResult;
import org.vhdkit.vhd.format.Footer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vhd set}: changes the footer fields that say what a disk is: its UUID and creator fields.
 *
 * <p>Prints what changed, or with {@code --output json} one object: {@code file}, {@code changed},
 * {@code before} and {@code after} (each {@code {uuid, creator: {application, version, hostOs}}} as
 * {@code vhd info} gives them), {@code warnings}.
 */
@Command(name = "set",
        description = {
            "Changes a VHD's identity fields in its footer (Set-VHD): its UUID and its creator fields.",
            "A new UUID (--uuid, or --new-uuid for a random one) makes a copy of a disk a disk of its own, as"
                    + " Hyper-V needs of disks attached to one VM. Differencing disks made on FILE are linked to its"
                    + " old UUID and no longer find it; 'vhd rebase --unsafe --parent FILE CHILD' relinks each.",
            "The creator fields record the program that made the disk; qemu reads the exact size only of disks"
                    + " whose creator application is one it knows (win, qem2, d2v, CTXS, tap), the CHS size of"
                    + " the rest.",
            "Crash-safe by ordering: the footer at the end of the file is rewritten first, then its copy at offset"
                    + " 0, each a single sector written whole and flushed; running the command again completes an"
                    + " interrupted one."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  vhd set --new-uuid copy.vhd",
            "  vhd set --uuid 3f2504e0-4f89-11d3-9a0c-0305e82c3301 disk.vhd",
            "  vhd set --creator-app win --creator-version 10.0 --creator-host Wi2k disk.vhd",
            "  vhd set --output json --new-uuid copy.vhd"})
public final class SetCommand implements Callable<Integer> {
    private static final Pattern VERSION = Pattern.compile("(\\d{1,5})\\.(\\d{1,5})");

    @Spec
    CommandSpec spec;

    @Mixin
    OutputOption output;

    @ArgGroup(exclusive = true)
    Identity identity;

    /** --uuid or --new-uuid, not both. */
    static final class Identity {
        @Option(names = "--uuid", paramLabel = "UUID", converter = CreateCommand.UuidConverter.class,
                description = "Give the disk this UUID.")
        UUID uuid;

        @Option(names = "--new-uuid", description = "Give the disk a new random UUID.")
        boolean newUuid;
    }

    @Option(names = "--creator-app", paramLabel = "TEXT",
            description = "The creator application: up to four ASCII characters, padded with spaces (win, vpc,"
                    + " qemu, vbox, ...).")
    String creatorApplication;

    @Option(names = "--creator-version", paramLabel = "MAJOR.MINOR", description = "The creator version, e.g. 10.0.")
    String creatorVersion;

    @Option(names = "--creator-host", paramLabel = "TEXT",
            description = "The creator host OS: Wi2k (Windows) or Mac, or up to four ASCII characters.")
    String creatorHost;

    @Parameters(paramLabel = "FILE", description = "The VHD to change.")
    Path file;

    /** What the JSON shows of a footer. */
    record Fields(String uuid, DiskSummary.Creator creator) {
        static Fields of(Footer footer) {
            return new Fields(footer.uniqueId().toString(), new DiskSummary.Creator(
                    FourCharacterCode.text(footer.creatorApplication()), version(footer.creatorVersion()),
                    FourCharacterCode.text(footer.creatorHostOs())));
        }
    }

    /** The JSON of a set. */
    record Changed(String file, boolean changed, Fields before, Fields after, List<String> warnings) {
    }

    @Override
    public Integer call() throws Exception {
        FooterChanges changes = changes();
        if (changes.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "nothing to set; give --uuid, --new-uuid, --creator-app,"
                    + " --creator-version or --creator-host");
        }
        FileArguments.checkNotDirectory(file);
        SetResult result;
        try {
            result = ImageEdits.set(file, changes);
        } catch (IOException e) {
            throw FileArguments.naming(file, e);
        }
        Changed set = new Changed(file.toString(), result.changed(), Fields.of(result.before()), Fields.of(result.after()),
                result.warnings());
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, set);
        } else {
            PrintWriter err = spec.commandLine().getErr();
            set.warnings().forEach(w -> err.println("vhd: warning: " + w));
            err.flush();
            List<String> lines = differences(set.before(), set.after());
            out.println(lines.isEmpty() ? file + ": nothing changed, the fields hold these values already"
                    : "Set " + file + ": " + String.join("; ", lines));
        }
        out.flush();
        return ExitCodes.OK;
    }

    private FooterChanges changes() throws CommandFailure {
        FooterChanges changes = FooterChanges.NONE;
        if (identity != null) {
            changes = changes.withUniqueId(identity.newUuid ? UUID.randomUUID() : identity.uuid);
        }
        if (creatorApplication != null) {
            changes = changes.withCreatorApplication(code("--creator-app", creatorApplication));
        }
        if (creatorVersion != null) {
            Matcher m = VERSION.matcher(creatorVersion);
            if (!m.matches()) {
                throw new ParameterException(spec.commandLine(), "--creator-version: '" + creatorVersion
                        + "' is not MAJOR.MINOR with each part from 0 to 65535, e.g. 10.0");
            }
            int major = Integer.parseInt(m.group(1));
            int minor = Integer.parseInt(m.group(2));
            if (major > 0xFFFF || minor > 0xFFFF) {
                throw CommandFailure.refused("--creator-version: " + creatorVersion + " has a part above 65535");
            }
            changes = changes.withCreatorVersion(major << 16 | minor);
        }
        if (creatorHost != null) {
            String host = switch (creatorHost.toLowerCase(Locale.ROOT)) {
                case "windows" -> "Wi2k";
                case "mac", "macintosh" -> "Mac ";
                default -> code("--creator-host", creatorHost);
            };
            byte[] bytes = host.getBytes(StandardCharsets.ISO_8859_1);
            changes = changes.withCreatorHostOs((bytes[0] & 0xFF) << 24 | (bytes[1] & 0xFF) << 16
                    | (bytes[2] & 0xFF) << 8 | bytes[3] & 0xFF);
        }
        return changes;
    }

    /** One to four printable ASCII characters, padded with spaces to four. */
    private String code(String option, String text) {
        if (text.isEmpty() || text.length() > 4 || !text.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
            throw new ParameterException(spec.commandLine(), option + ": '" + text
                    + "' is not one to four printable ASCII characters");
        }
        return (text + "    ").substring(0, 4);
    }

    private static String version(int version) {
        return (version >>> 16) + "." + (version & 0xFFFF);
    }

    private static List<String> differences(Fields before, Fields after) {
        List<String> lines = new ArrayList<>();
        if (!before.uuid().equals(after.uuid())) {
            lines.add("uuid " + before.uuid() + " -> " + after.uuid());
        }
        DiskSummary.Creator b = before.creator();
        DiskSummary.Creator a = after.creator();
        if (!b.application().equals(a.application())) {
            lines.add("creator application '" + b.application() + "' -> '" + a.application() + "'");
        }
        if (!b.version().equals(a.version())) {
            lines.add("creator version " + b.version() + " -> " + a.version());
        }
        if (!b.hostOs().equals(a.hostOs())) {
            lines.add("creator host OS " + b.hostOs() + " -> " + a.hostOs());
        }
        return lines;
    }
}
