package org.vhdkit.vhd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.format.PlatformCode;
import org.vhdkit.vhd.format.VhdTime;

/** What {@link Vhd#create} is told is what the new file records. */
class CreateOptionsTest {
    @TempDir
    Path tmp;

    @Test
    void theCreatorTimestampUuidAndBlockSizeAskedForAreWhatTheFileRecords() throws IOException {
        Path path = tmp.resolve("made.vhd");
        UUID id = UUID.fromString("6b2c1f3e-0d4a-4e59-9a1b-2c3d4e5f6a7b");
        Instant when = Instant.parse("2024-02-29T12:34:56Z");
        Creator virtualPc = new Creator("vpc ", 0x00050003, Footer.HOST_WINDOWS);
        CreateOptions options = CreateOptions.dynamic(64L << 20).withBlockSize(512 * 1024).withCreator(virtualPc)
                .withTimestamp(when).withUniqueId(id);
        Vhd.create(path, options).close();
        try (VhdDisk disk = Vhd.openReadOnly(path)) {
            Footer footer = disk.footer();
            assertEquals("vpc ", footer.creatorApplication());
            assertEquals(0x00050003, footer.creatorVersion());
            assertEquals(Footer.HOST_WINDOWS, footer.creatorHostOs());
            assertEquals(VhdTime.fromInstant(when), footer.timestamp());
            assertEquals(id, footer.uniqueId());
            assertEquals(512 * 1024, disk.dynamicHeader().map(DynamicHeader::blockSize).orElseThrow());
            assertEquals(64L << 20, disk.size());
        }
    }

    /**
     * A differencing disk records where its parent is twice, as Windows does: the absolute path
     * (W2ku) first and the path relative to the child (W2ru) second, both in Windows' form.
     */
    @Test
    void aChildsLocatorsSpellItsParentsPathAbsoluteThenRelative() throws IOException {
        Path parent = tmp.resolve("base.vhd");
        Vhd.create(parent, CreateOptions.dynamic(4L << 20)).close();
        Path child = tmp.resolve("child.vhd");
        Vhd.create(child, CreateOptions.differencing(parent)).close();
        try (VhdDisk disk = Vhd.open(child, OpenOptions.READ_ONLY.withoutParent())) {
            List<LocatorText> locators = disk.parentLocators();
            assertEquals(2, locators.size(), "locators: " + locators);
            assertEquals(Optional.of(PlatformCode.W2KU), locators.get(0).locator().platform());
            assertEquals(Optional.of(parent.toAbsolutePath().normalize().toString().replace('/', '\\')),
                    locators.get(0).path());
            assertEquals(Optional.of(PlatformCode.W2RU), locators.get(1).locator().platform());
            assertEquals(Optional.of(".\\base.vhd"), locators.get(1).path());
        }
        try (VhdDisk disk = Vhd.openReadOnly(parent)) {
            assertEquals(List.of(), disk.parentLocators(), "a dynamic disk has none");
        }
    }

    @Test
    void aCreatorApplicationOfOtherThanFourLatin1CharactersIsRefusedNamingIt() {
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                () -> new Creator("qemu2", 0, Footer.HOST_WINDOWS));
        assertTrue(tooLong.getMessage().contains("'qemu2'"), tooLong.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Creator("v\u20acc ", 0, Footer.HOST_WINDOWS));
    }
}
