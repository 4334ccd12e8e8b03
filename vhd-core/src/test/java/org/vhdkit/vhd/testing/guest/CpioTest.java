package org.vhdkit.vhd.testing.guest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.testing.ExternalTools;

/** The newc archive as another cpio reads it: names, modes, link targets and contents of odd lengths. */
class CpioTest {
    @TempDir
    Path tmp;

    @Test
    void busyboxCpioUnpacksWhatWasWritten() throws IOException {
        ExternalTools.assumeAvailable("busybox");
        byte[] odd = new byte[4097];
        for (int i = 0; i < odd.length; i++) {
            odd[i] = (byte) (i * 31);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Cpio cpio = new Cpio(bytes)) {
            cpio.directory("bin");
            cpio.file("bin/tool", 0755, "#!/bin/sh\necho hi\n".getBytes(UTF_8));
            cpio.directory("data");
            cpio.file("data/odd", 0644, odd);
            cpio.file("data/empty", 0600, new byte[0]);
            cpio.symlink("bin/link", "tool");
        }
        assertEquals(0, bytes.size() % 4, "entries are padded to 4 bytes");
        Path archive = tmp.resolve("a.cpio");
        Files.write(archive, bytes.toByteArray());
        Path out = Files.createDirectory(tmp.resolve("out"));
        ExternalTools.run(out, Duration.ofSeconds(30), List.of("sh", "-c", "busybox cpio -i -d < " + archive))
                .requireSuccess();
        assertArrayEquals(odd, Files.readAllBytes(out.resolve("data/odd")));
        assertEquals("#!/bin/sh\necho hi\n", Files.readString(out.resolve("bin/tool")));
        assertTrue(Files.isExecutable(out.resolve("bin/tool")));
        assertEquals(0, Files.size(out.resolve("data/empty")));
        assertEquals(Path.of("tool"), Files.readSymbolicLink(out.resolve("bin/link")));
    }
}
