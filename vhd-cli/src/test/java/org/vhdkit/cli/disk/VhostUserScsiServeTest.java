package org.vhdkit.cli.disk;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.cli.CliRun;
import org.vhdkit.cli.conventions.ExitCodes;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.Vhd;

/** {@code vhd serve --vhost-user-scsi}'s refusals, before it listens; serving is the backend's tests'. */
class VhostUserScsiServeTest {
    @TempDir
    Path tmp;

    private String disk() throws IOException {
        Path d = tmp.resolve("d.vhd");
        if (!Files.exists(d)) {
            Vhd.create(d, CreateOptions.dynamic(1 << 20)).close();
        }
        return d.toString();
    }

    private CliRun vhd(String... args) {
        return CliRun.vhd(FileSystems.getDefault(), args);
    }

    @Test
    void usageErrors() throws IOException {
        String sock = tmp.resolve("vus.sock").toString();
        String both = vhd("serve", "--vhost-user-scsi", sock, "--port", "1", disk()).assertFailure(ExitCodes.USAGE);
        assertTrue(both.contains("--vhost-user-scsi does not go with"), both);
        List<String> many = new ArrayList<>(List.of("serve", "--vhost-user-scsi", sock));
        for (int i = 0; i < 65; i++) {
            many.add(disk());
        }
        String tooMany = vhd(many.toArray(String[]::new)).assertFailure(ExitCodes.USAGE);
        assertTrue(tooMany.contains("at most 64 LUNs"), tooMany);
        assertFalse(Files.exists(Path.of(sock)), "nothing listens after a refusal");
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        String sock = tmp.resolve("vus.sock").toString();
        String missing = vhd("serve", "--vhost-user-scsi", sock, disk(), "ro:" + tmp.resolve("none.vhd"))
                .assertFailure(ExitCodes.IO);
        assertTrue(missing.contains("none.vhd"), missing);
        Files.createFile(tmp.resolve("taken"));
        String taken = vhd("serve", "--vhost-user-scsi", tmp.resolve("taken").toString(), disk())
                .assertFailure(ExitCodes.IO);
        assertTrue(taken.contains("already exists"), taken);
    }
}
