package org.vhdkit.stack.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.vm.Attachment;
import org.vhdkit.stack.vm.GuestEngine;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfiguration;
import org.vhdkit.vhd.CreateOptions;
import org.vhdkit.vhd.OpenOptions;
import org.vhdkit.vhd.Vhd;
import org.vhdkit.vhd.VhdDisk;

/**
 * The storage a real guest's qemu is given, without qemu: which drives and controllers are served
 * from a configuration, what a disk that cannot open does to the others, and DVD media changes.
 */
class ServedStorageTest {
    @TempDir
    Path dir;

    private final List<String> log = new ArrayList<>();

    private Path vhd(String name) throws IOException {
        Path p = dir.resolve(name);
        Vhd.create(p, CreateOptions.dynamic(8L << 20)).close();
        return p;
    }

    private Path file(String name, int size) throws IOException {
        return Files.write(dir.resolve(name), new byte[size]);
    }

    private static VmConfiguration config(String name) {
        return VmConfiguration.create(name, 128L << 20, 1).withEngine(GuestEngine.qemu());
    }

    private Path runDir() throws IOException {
        return Files.createTempDirectory(dir, "run");
    }

    @Test
    void everyDriveAndEachControllerInUseIsServedOnItsOwnSocket() throws Exception {
        VmConfiguration c = config("served")
                .withAttachment(Attachment.disk(Slot.ide(0, 0), vhd("boot.vhd")))
                .withAttachment(Attachment.dvd(Slot.ide(1, 0), file("medium.iso", 2048 * 16)))
                .withAttachment(Attachment.emptyDvd(Slot.ide(1, 1)))
                .withAttachment(Attachment.disk(Slot.scsi(2, 0), vhd("data.vhd"), true))
                .withAttachment(Attachment.passThrough(Slot.scsi(2, 5), file("raw.img", 1 << 20), false));
        try (ServedStorage s = ServedStorage.open(c, runDir(), log::add)) {
            List<ServedStorage.IdeDrive> ide = s.ideDrives();
            assertEquals(List.of(Slot.ide(0, 0), Slot.ide(1, 0), Slot.ide(1, 1)),
                    ide.stream().map(ServedStorage.IdeDrive::slot).toList());
            assertEquals(List.of(false, true, true), ide.stream().map(ServedStorage.IdeDrive::dvd).toList());
            assertTrue(Files.exists(ide.get(0).socket().orElseThrow()));
            assertTrue(Files.exists(ide.get(1).socket().orElseThrow()));
            assertEquals(Optional.empty(), ide.get(2).socket(), "an empty drive has no export");

            assertEquals(List.of(2), s.scsiControllers().stream().map(ServedStorage.ScsiController::number).toList());
            assertTrue(Files.exists(s.scsiControllers().getFirst().socket()));
            assertTrue(s.backend(2).isPresent());
            assertFalse(s.backend(0).isPresent(), "a controller without disks has no backend");
        }
    }

    @Test
    void aDiskThatCannotOpenIsNamedAndTheOthersAreLetGo() throws Exception {
        Path good = vhd("good.vhd");
        Path missing = dir.resolve("missing.vhd");
        VmConfiguration c = config("broken")
                .withAttachment(Attachment.disk(Slot.ide(0, 0), good))
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), missing));
        IOException e = assertThrows(IOException.class, () -> ServedStorage.open(c, runDir(), log::add));
        assertTrue(e.getMessage().startsWith("cannot attach "), e.getMessage());
        assertTrue(e.getMessage().contains("missing.vhd") && e.getMessage().contains("'broken'"), e.getMessage());
        try (VhdDisk d = Vhd.open(good, OpenOptions.READ_WRITE)) {
            assertFalse(d.isReadOnly(), "the disk opened before the failure is closed again");
        }
    }

    @Test
    void withoutIntegrationComponentsNoScsiDiskIsServed() throws Exception {
        Path data = vhd("data.vhd");
        VmConfiguration c = config("no-ic").withIntegrationComponents(false)
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), data));
        try (ServedStorage s = ServedStorage.open(c, runDir(), log::add)) {
            assertEquals(List.of(), s.scsiControllers());
            assertThrows(IOException.class, () -> s.hotRemove(Slot.scsi(0, 0)));
            IOException e = assertThrows(IOException.class, () -> s.hotAdd(Attachment.disk(Slot.scsi(0, 1), data)));
            assertTrue(e.getMessage().contains("the integration components of 'no-ic' are off"), e.getMessage());
        }
        try (VhdDisk d = Vhd.open(data, OpenOptions.READ_WRITE)) {
            assertFalse(d.isReadOnly(), "not even opened");
        }
    }

    @Test
    void aMediumChangeServesTheNewImageOnANewSocketAndEjectServesNone() throws Exception {
        Path first = file("first.iso", 2048 * 8);
        Path second = file("second.iso", 2048 * 4);
        VmConfiguration c = config("media").withAttachment(Attachment.dvd(Slot.ide(1, 0), first));
        try (ServedStorage s = ServedStorage.open(c, runDir(), log::add)) {
            Path before = s.ideDrives().getFirst().socket().orElseThrow();
            Path after = s.changeMedium(Slot.ide(1, 0), second).orElseThrow();
            assertNotEquals(before, after, "qemu opens the new medium at a new place");
            assertTrue(Files.exists(after));
            assertFalse(Files.exists(before), "the old medium's server is gone");
            assertEquals(Optional.empty(), s.changeMedium(Slot.ide(1, 0), null));
            assertFalse(Files.exists(after));
            IOException e = assertThrows(IOException.class,
                    () -> s.changeMedium(Slot.ide(1, 0), dir.resolve("none.iso")));
            assertTrue(e.getMessage().contains("none.iso"), e.getMessage());
        }
    }

    /** Whether {@code vhd} is held by an open disk (a writer elsewhere is refused). */
    private static boolean held(Path vhd) {
        try (VhdDisk d = Vhd.open(vhd, OpenOptions.READ_WRITE)) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Test
    void aLiveSwitchServesTheNewLayersAndLetsTheOldFilesGo() throws Exception {
        Path ide = vhd("ide.vhd");
        Path scsi = vhd("scsi.vhd");
        Path ideChild = dir.resolve("ide-child.avhd");
        Path scsiChild = dir.resolve("scsi-child.avhd");
        VmConfiguration c = config("switch").withAttachment(Attachment.disk(Slot.ide(0, 0), ide))
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), scsi));
        try (ServedStorage s = ServedStorage.open(c, runDir(), log::add)) {
            assertTrue(held(ide) && held(scsi));
            s.switchDisks(Map.of(Slot.ide(0, 0), ideChild, Slot.scsi(0, 0), scsiChild), () -> {
                assertFalse(held(ide) || held(scsi), "the old top files are closed before the new layers are made");
                Vhd.create(ideChild, CreateOptions.differencing(ide)).close();
                Vhd.create(scsiChild, CreateOptions.differencing(scsi)).close();
            });
            assertTrue(held(ideChild) && held(scsiChild), "the new layers are served");
            s.hotRemove(Slot.scsi(0, 0));
            assertFalse(held(scsiChild), "and are what a hot remove closes");
        }
        assertFalse(held(ideChild));
    }

    @Test
    void aLiveSwitchCutShortServesTheOldFilesAgain() throws Exception {
        Path ide = vhd("ide.vhd");
        Path scsi = vhd("scsi.vhd");
        VmConfiguration c = config("cut").withAttachment(Attachment.disk(Slot.ide(0, 0), ide))
                .withAttachment(Attachment.disk(Slot.scsi(0, 0), scsi));
        try (ServedStorage s = ServedStorage.open(c, runDir(), log::add)) {
            IOException e = assertThrows(IOException.class, () -> s.switchDisks(
                    Map.of(Slot.ide(0, 0), dir.resolve("a.avhd"), Slot.scsi(0, 0), dir.resolve("b.avhd")), () -> {
                        throw new IOException("the tree could not make the layers");
                    }));
            assertEquals("the tree could not make the layers", e.getMessage());
            assertTrue(held(ide) && held(scsi), "the old files are open and served again");

            IOException none = assertThrows(IOException.class,
                    () -> s.switchDisks(Map.of(Slot.scsi(3, 0), dir.resolve("c.avhd")), () -> { }));
            assertEquals("'cut' is served no VHD at " + Slot.scsi(3, 0), none.getMessage());
        }
        assertFalse(held(ide) || held(scsi));
    }

    @Test
    void removingADiskThatIsNotThereIsRefusedAndCloseIsIdempotent() throws Exception {
        Path data = vhd("data.vhd");
        VmConfiguration c = config("remove").withAttachment(Attachment.disk(Slot.scsi(1, 0), data));
        ServedStorage s = ServedStorage.open(c, runDir(), log::add);
        IOException e = assertThrows(IOException.class, () -> s.hotRemove(Slot.scsi(1, 3)));
        assertEquals("'remove' has no disk at " + Slot.scsi(1, 3), e.getMessage());
        s.hotRemove(Slot.scsi(1, 0));
        try (VhdDisk d = Vhd.open(data, OpenOptions.READ_WRITE)) {
            assertFalse(d.isReadOnly(), "a removed disk is closed at once");
        }
        s.close();
        s.close();
    }
}
