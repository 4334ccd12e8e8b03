package org.vhdkit.vhd.edit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.vhdkit.vhd.edit.EditTesting.MIB;
import static org.vhdkit.vhd.edit.EditTesting.assertReadsAs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.ParentNotFoundException;
import org.vhdkit.vhd.ProgressListener;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.testing.ExternalTools;

class SetTest {
    private static final int SIZE = 6 * MIB;

    @TempDir
    Path tmp;

    private byte[] model;

    private Path dynamic(String name) throws IOException {
        Path path = tmp.resolve(name);
        model = new byte[SIZE];
        try (VhdDisk disk = Vhd.create(path, CreateOptions.dynamic(SIZE))) {
            EditTesting.randomWrites(disk, model, new Random(1), 30);
        }
        return path;
    }

    /** The footer at offset 0 and the one at the end, decoded from the file's bytes. */
    private static Footer[] footers(Path path) throws IOException {
        byte[] file = Files.readAllBytes(path);
        return new Footer[] {
            Footer.decode(path.toString(), file, 0, 0),
            Footer.decode(path.toString(), file, file.length - 512, file.length - 512)};
    }

    @Test
    void aNewUuidGoesIntoBothFootersAndToolsStillReadTheImage() throws IOException {
        Path path = dynamic("disk.vhd");
        UUID id = UUID.fromString("0123abcd-4567-89ef-0123-456789abcdef");
        SetResult result = ImageEdits.set(path, FooterChanges.NONE.withUniqueId(id));
        assertTrue(result.changed());
        assertEquals(id, result.after().uniqueId());
        for (Footer footer : footers(path)) {
            assertEquals(id, footer.uniqueId());
        }
        assertEquals(result.before().withUniqueId(id), result.after(), "nothing else changed");
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertEquals(id, disk.footer().uniqueId());
            assertReadsAs(model, disk);
            assertTrue(disk.warnings().isEmpty(), disk.warnings()::toString);
        }
        EditTesting.assertCleanAndQemuMapsOurBlocks(path);
        EditTesting.assertQemuReadsAs(model, path, tmp);
        String info = ExternalTools.run(EditTesting.TOOL_TIMEOUT, "vhdiinfo", path.toString()).requireSuccess().stdout();
        assertTrue(info.toLowerCase(Locale.ROOT).contains(id.toString()), info);
    }

    @Test
    void creatorFieldsOfAFixedDiskChangeInItsOnlyFooter() throws IOException {
        Path path = tmp.resolve("fixed.vhd");
        Vhd.create(path, CreateOptions.fixed(SIZE)).close();
        byte[] before = Files.readAllBytes(path);
        SetResult result = ImageEdits.set(path, FooterChanges.NONE.withCreatorApplication("vpc ")
                .withCreatorVersion(0x00050003).withCreatorHostOs(Footer.HOST_MACINTOSH));
        assertEquals("vpc ", result.after().creatorApplication());
        byte[] after = Files.readAllBytes(path);
        assertEquals(before.length, after.length);
        assertArrayEquals(Arrays.copyOf(before, SIZE), Arrays.copyOf(after, SIZE), "only the footer changed");
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertEquals("vpc ", disk.footer().creatorApplication());
            assertEquals(0x00050003, disk.footer().creatorVersion());
            assertEquals(Footer.HOST_MACINTOSH, disk.footer().creatorHostOs());
        }
    }

    @Test
    void settingWhatIsAlreadyThereWritesNothing() throws IOException {
        Path path = dynamic("same.vhd");
        byte[] before = Files.readAllBytes(path);
        Footer footer = footers(path)[1];
        SetResult result = ImageEdits.set(path, FooterChanges.NONE.withUniqueId(footer.uniqueId())
                .withCreatorApplication(footer.creatorApplication()));
        assertFalse(result.changed());
        assertArrayEquals(before, Files.readAllBytes(path));
        assertFalse(ImageEdits.set(path, FooterChanges.NONE).changed());
    }

    @Test
    void aSetStoppedBetweenTheTwoFootersIsInForceAndCompletesWhenRunAgain() throws IOException {
        Path path = dynamic("stopped.vhd");
        UUID id = UUID.randomUUID();
        assertThrows(ResizeTest.Crash.class, () -> FooterEdit.run(path, FooterChanges.NONE.withUniqueId(id), step -> {
            throw new ResizeTest.Crash(step);
        }));
        Footer[] halfway = footers(path);
        assertEquals(id, halfway[1].uniqueId());
        assertFalse(id.equals(halfway[0].uniqueId()));
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            assertEquals(id, disk.footer().uniqueId());
        }
        ImageEdits.set(path, FooterChanges.NONE.withUniqueId(id));
        for (Footer footer : footers(path)) {
            assertEquals(id, footer.uniqueId());
        }
    }

    @Test
    void childrenOfADiskGivenANewUuidNeedARebase() throws IOException {
        Path base = dynamic("base.vhd");
        Path child = tmp.resolve("child.vhd");
        Vhd.create(child, CreateOptions.differencing(base)).close();
        SetResult result = ImageEdits.set(base, FooterChanges.NONE.withUniqueId(UUID.randomUUID()));
        assertEquals(1, result.warnings().size());
        assertTrue(result.warnings().getFirst().contains("vhd rebase --unsafe"), result.warnings()::toString);
        assertThrows(ParentNotFoundException.class, () -> Vhd.openReadOnly(child));
        ImageEdits.rebase(child, base, RebaseMode.UNSAFE, ProgressListener.NONE);
        try (VhdDisk disk = Vhd.openReadOnly(child)) {
            assertReadsAs(model, disk);
        }
    }

    @Test
    void aCreatorApplicationThatIsNotFourOneByteCharactersIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> FooterChanges.NONE.withCreatorApplication("toolong"));
        assertThrows(IllegalArgumentException.class, () -> FooterChanges.NONE.withCreatorApplication("wi\u20ac "));
    }
}
