package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigurationFileTest {
    @TempDir
    Path dir;

    private static VmConfiguration full() {
        return VmConfiguration.create("vm1", 1L << 30, 4)
                .withIntegrationComponents(false)
                .withAttachment(Attachment.disk(Slot.ide(0, 0), Path.of("/vms/boot.vhd")))
                .withAttachment(Attachment.emptyDvd(Slot.ide(1, 0)))
                .withAttachment(Attachment.dvd(Slot.ide(1, 1), Path.of("/iso/setup disk.iso")))
                .withAttachment(Attachment.disk(Slot.scsi(3, 63), Path.of("/vms/data.vhd"), true))
                .withAttachment(Attachment.passThrough(Slot.scsi(0, 0), Path.of("/dev/loop0"), false))
                .withBootOrder(List.of(Slot.ide(1, 1), Slot.ide(0, 0)));
    }

    @Test
    void aConfigurationRoundTripsThroughItsFile() throws Exception {
        Path file = dir.resolve(ConfigurationFile.NAME);
        VmConfiguration c = full().validate();
        ConfigurationFile.write(file, c, AtomicFile.BeforeRename.NONE);
        assertEquals(c, ConfigurationFile.read(file));
        String json = Files.readString(file);
        assertTrue(json.contains("\"slot\" : \"scsi:3:63\""), json);
        assertTrue(json.contains("\"kind\" : \"passthrough\""), json);
        assertTrue(json.contains("\"path\" : null"), json);
        assertTrue(json.endsWith("}\n"));
        VmConfiguration plain = VmConfiguration.create("plain", 8L << 20, 1);
        assertEquals(plain, ConfigurationFile.decode(file, ConfigurationFile.encode(plain)));
    }

    @Test
    void aCrashBeforeTheRenameLeavesTheOldConfiguration() throws Exception {
        Path file = dir.resolve(ConfigurationFile.NAME);
        VmConfiguration old = full().validate();
        ConfigurationFile.write(file, old, AtomicFile.BeforeRename.NONE);
        VmConfiguration next = old.withMemoryBytes(2L << 30).withName("renamed");
        IOException crash = assertThrows(IOException.class, () -> ConfigurationFile.write(file, next, (temp, target) -> {
            assertTrue(Files.exists(temp));
            assertEquals(next, ConfigurationFile.read(temp), "the temporary file is whole and forced before the rename");
            throw new IOException("power lost");
        }));
        assertEquals("power lost", crash.getMessage());
        assertEquals(old, ConfigurationFile.read(file));
        Path leftover = dir.resolve(".config.json.tmp");
        assertTrue(Files.exists(leftover));
        AtomicFile.removeLeftovers(dir);
        assertFalse(Files.exists(leftover));
        ConfigurationFile.write(file, next, AtomicFile.BeforeRename.NONE);
        assertEquals(next, ConfigurationFile.read(file));
    }

    private void refused(String json, String field, String fragment) {
        Path file = dir.resolve("config.json");
        VmConfigurationException e = assertThrows(VmConfigurationException.class,
                () -> ConfigurationFile.decode(file, json.getBytes(StandardCharsets.UTF_8)), json);
        assertEquals(field, e.field(), e.getMessage());
        assertEquals(file, e.file().orElseThrow());
        assertTrue(e.getMessage().startsWith(file + ": " + (field.isEmpty() ? "" : field + ": ")), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    private static String valid() {
        return new String(ConfigurationFile.encode(full()), StandardCharsets.UTF_8);
    }

    private static String with(String field, String value) {
        return valid().replaceFirst("\"" + field + "\" : [^,\\n]*", "\"" + field + "\" : " + value);
    }

    @Test
    void readingRefusesEveryMalformedFieldNamingFileAndField() {
        refused("{ \"format\" : 1,\n  \"name\" : ", "", "not valid JSON at line 2");
        refused("[1, 2]", "", "a VM configuration is a JSON object");
        refused(valid() + "{}", "", "not valid JSON");
        refused(with("format", "2"), "format", "format 2 is not one this version reads");
        refused(with("name", "7"), "name", "expected a string, found 7");
        refused(with("id", "\"not-a-uuid\""), "id", "'not-a-uuid' is not a UUID");
        refused(with("memoryBytes", "\"lots\""), "memoryBytes", "expected a whole number, found \"lots\"");
        refused(with("memoryBytes", "1.5"), "memoryBytes", "expected a whole number");
        refused(with("memoryBytes", "99999999999999999999999"), "memoryBytes", "expected a whole number");
        refused(with("memoryBytes", "1024"), "memoryBytes", "1 KiB is below the minimum of 8 MiB");
        refused(with("processors", "9"), "processors", "9 is more than the 4");
        refused(with("processors", "4294967297"), "processors", "out of range");
        refused(with("integrationComponents", "\"yes\""), "integrationComponents", "expected true or false");
        refused(valid().replace("\"ide:0:0\",", "\"ide:0:7\","), "attachments[0].slot", "ide:0:7 does not exist");
        refused(valid().replace("\"kind\" : \"disk\"", "\"kind\" : \"floppy\""), "attachments[0].kind",
                "'floppy' is not one of disk, dvd, passthrough");
        refused(valid().replace("\"readOnly\" : false", "\"readOnly\" : 0"), "attachments[0].readOnly",
                "expected true or false");
        refused(valid().replace("\"path\" : null", "\"path\" : 5"), "attachments[1].path", "expected a path or null");
        refused(valid().replace("\"path\" : null,", ""), "attachments[1].path", "missing");
        refused(valid().replace("\"readOnly\" : false", "\"readOnly\" : false, \"bus\" : 1"), "attachments[0].bus",
                "unknown field");
        refused(valid().replace("\"bootOrder\" : [ \"ide:1:1\"", "\"bootOrder\" : [ 3"), "bootOrder[0]",
                "expected a slot");
        refused(valid().replace("\"bootOrder\" : [ \"ide:1:1\"", "\"bootOrder\" : [ \"scsi:3:63\""), "bootOrder[0]",
                "boots only from IDE");
        refused(valid().replace("\"format\" : 1,", "\"format\" : 1, \"extra\" : true,"), "extra", "unknown field");
        refused(valid().replace("\"format\" : 1,", "\"format\" : 1, \"format\" : 1,"), "", "Duplicate field 'format'");
        refused(valid().replace("\"memoryBytes\"", "\"memory\""), "memory", "unknown field");
        refused(valid().replace("\"processors\" : 4,", ""), "processors", "missing");
        refused(valid().replace("\"bootOrder\" : [ \"ide:1:1\", \"ide:0:0\" ]", "\"bootOrder\" : \"ide:1:1\""),
                "bootOrder", "expected a list, found \"ide:1:1\"");
        refused(valid().replace("\"/vms/data.vhd\"", "\"/vms/boot.vhd\""), "attachments[3].path",
                "is already attached at ide:0:0");
    }

    @Test
    void missingAndOversizedFilesAreRefusedByName() throws Exception {
        Path file = dir.resolve("config.json");
        VmException missing = assertThrows(VmException.class, () -> ConfigurationFile.read(file));
        assertEquals(file + ": no such file", missing.getMessage());
        Files.write(file, new byte[(1 << 20) + 1]);
        assertTrue(assertThrows(VmException.class, () -> ConfigurationFile.read(file)).getMessage()
                .contains("larger than a VM configuration can be"));
    }

    @Test
    void identifiersMustBeCanonicalUuids() {
        UUID id = UUID.randomUUID();
        refused(with("id", "\"" + id.toString().replace("-", "") + "\""), "id", "is not a UUID");
    }
}
