package org.vhdkit.vhd.testing.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Load order from a modules.dep shaped like Debian's: dependencies first, once each, built-ins skipped. */
class ModuleSetTest {
    @TempDir
    Path dir;

    private ModuleSet modules(String dep, String builtin) throws IOException {
        Files.writeString(dir.resolve("modules.dep"), dep);
        Files.writeString(dir.resolve("modules.builtin"), builtin);
        return ModuleSet.read(dir);
    }

    @Test
    void everyModuleComesAfterWhatItNeedsAndOnlyOnce() throws IOException {
        ModuleSet set = modules("""
                kernel/drivers/scsi/scsi_common.ko:
                kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko
                kernel/drivers/virtio/virtio_ring.ko:
                kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
                kernel/drivers/scsi/virtio_scsi.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
                kernel/drivers/scsi/sd_mod.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
                """, "");
        assertEquals(List.of("kernel/drivers/scsi/scsi_common.ko", "kernel/drivers/scsi/scsi_mod.ko",
                "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
                "kernel/drivers/scsi/virtio_scsi.ko", "kernel/drivers/scsi/sd_mod.ko"),
                set.loadOrder(List.of("virtio_scsi", "sd_mod")));
    }

    @Test
    void dashesAndUnderscoresNameTheSameModuleAndCompressedFilesCount() throws IOException {
        ModuleSet set = modules("kernel/crypto/crc32c_generic.ko.xz:\nkernel/lib/crc-t10dif.ko.zst:\n", "");
        assertEquals(List.of("kernel/crypto/crc32c_generic.ko.xz", "kernel/lib/crc-t10dif.ko.zst"),
                set.loadOrder(List.of("crc32c-generic", "crc_t10dif")));
    }

    @Test
    void aBuiltInModuleIsNotLoaded() throws IOException {
        ModuleSet set = modules("kernel/fs/isofs/isofs.ko:\n", "kernel/drivers/virtio/virtio_pci.ko\n");
        assertEquals(List.of("kernel/fs/isofs/isofs.ko"), set.loadOrder(List.of("virtio_pci", "isofs")));
    }

    @Test
    void aModuleTheKernelLacksIsNamed() throws IOException {
        ModuleSet set = modules("kernel/fs/isofs/isofs.ko:\n", "");
        IOException e = assertThrows(IOException.class, () -> set.loadOrder(List.of("no_such_driver")));
        assertTrue(e.getMessage().contains("no_such_driver") && e.getMessage().contains("modules.dep"), e.getMessage());
    }

    @Test
    void aDependencyWithoutItsOwnLineIsRefused() throws IOException {
        ModuleSet set = modules("kernel/a.ko: kernel/missing.ko\n", "");
        IOException e = assertThrows(IOException.class, () -> set.loadOrder(List.of("a")));
        assertTrue(e.getMessage().contains("kernel/missing.ko"), e.getMessage());
    }
}
