package org.vhdkit.vhd.testing.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unpacking a bzImage's payload through the boot protocol header, and the PVH note check, on
 * small made-up images (the installed kernel is {@link LinuxGuestTest}'s).
 */
class GuestKernelTest {
    @TempDir
    Path tmp;

    /** A 64-bit ELF header with one PT_NOTE segment holding one note. */
    static byte[] elfWithNote(String name, int type) {
        byte[] nameBytes = (name + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int nameLen = (nameBytes.length + 3) & ~3;
        int noteSize = 12 + nameLen + 8;
        ByteBuffer b = ByteBuffer.allocate(64 + 56 + noteSize).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x464c457f).put(4, (byte) 2).put(5, (byte) 1).put(6, (byte) 1);
        b.putLong(0x20, 64).putShort(0x36, (short) 56).putShort(0x38, (short) 1);
        b.putInt(64, 4).putLong(64 + 8, 120).putLong(64 + 32, noteSize); // PT_NOTE, offset, filesz
        b.putInt(120, nameBytes.length).putInt(124, 8).putInt(128, type);
        b.put(132, nameBytes);
        b.putLong(132 + nameLen, 0x1000850L);
        return b.array();
    }

    /** A bzImage-shaped file: boot sector and setup (setup_sects 3), then the payload where the header says. */
    static byte[] bzImage(byte[] payload, int protocol) {
        int setupSects = 3;
        int start = (setupSects + 1) * 512;
        int payloadOffset = 0x40; // inside the protected-mode part, after some decompressor code
        ByteBuffer b = ByteBuffer.allocate(start + payloadOffset + payload.length + 100).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) setupSects);
        b.putInt(0x202, 0x53726448);
        b.putShort(0x206, (short) protocol);
        b.putInt(0x248, payloadOffset);
        b.putInt(0x24c, payload.length);
        b.put(start + payloadOffset, payload);
        return b.array();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    @Test
    void thePayloadTheHeaderNamesIsUnpackedToTheElf() throws IOException {
        byte[] elf = elfWithNote("Xen", GuestKernel.XEN_ELFNOTE_PHYS32_ENTRY);
        Path image = tmp.resolve("vmlinuz-test");
        Files.write(image, bzImage(gzip(elf), 0x20f));
        Path target = tmp.resolve("vmlinux");
        new GuestKernel("test", image, tmp).unpack(target);
        assertArrayEquals(elf, Files.readAllBytes(target));
    }

    @Test
    void anElfWithoutThePvhNoteIsRefused() throws IOException {
        Path image = tmp.resolve("vmlinuz-test");
        Files.write(image, bzImage(gzip(elfWithNote("Xen", 17)), 0x20f));
        IOException e = assertThrows(IOException.class, () -> new GuestKernel("test", image, tmp).unpack(tmp.resolve("v")));
        assertTrue(e.getMessage().contains("XEN_ELFNOTE_PHYS32_ENTRY"), e.getMessage());
        assertTrue(Files.notExists(tmp.resolve("v")), "nothing left in the cache");
    }

    @Test
    void anOldBootProtocolAndAnUnknownCompressionAreNamed() throws IOException {
        Path old = tmp.resolve("old");
        Files.write(old, bzImage(gzip(new byte[100]), 0x207));
        IOException e = assertThrows(IOException.class, () -> new GuestKernel("t", old, tmp).unpack(tmp.resolve("v")));
        assertTrue(e.getMessage().contains("0x206") && e.getMessage().contains(old.toString()), e.getMessage());

        Path lz4 = tmp.resolve("lz4");
        Files.write(lz4, bzImage(new byte[] {0x02, 0x21, 0x4c, 0x18, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, 0x20f));
        e = assertThrows(IOException.class, () -> new GuestKernel("t", lz4, tmp).unpack(tmp.resolve("v")));
        assertTrue(e.getMessage().contains("02 21 4c 18"), e.getMessage());
    }
}
