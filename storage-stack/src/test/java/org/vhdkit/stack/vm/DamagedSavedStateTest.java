package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.testvm.TestVms;

/**
 * A saved state damaged on disk (each of its three files) is refused on start with an error naming
 * the file and what is wrong in it; the VM stays Saved (its manifest is still there, so the user
 * can delete or repair it) or, when the manifest itself is gone, is Off; nothing is left held.
 */
@Timeout(60)
class DamagedSavedStateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SAVED_VALUE = 0x5EED_0001_0002_0003L;

    /** A device whose saved state is one long: what it reads back shows what restoring gave it. */
    private static final class LongDevice implements VmDevice {
        long value = SAVED_VALUE;

        @Override
        public String name() {
            return "long";
        }

        @Override
        public void saveState(DataOutput out) throws IOException {
            out.writeLong(value);
        }

        @Override
        public void restoreState(DataInput in) throws IOException {
            value = in.readLong();
        }
    }

    @TempDir
    Path root;

    private Hypervisor h;
    private VirtualMachine vm;
    private Path folder;

    @BeforeEach
    void saveAVm() throws Exception {
        h = Hypervisor.open(root, TestVms.options().withDeviceProvider(w -> w.addDevice(new LongDevice())));
        vm = h.create(TestVms.config("vm"));
        folder = vm.folder();
        vm.start(TestVms.counting());
        TestVms.awaitCounterPast(vm, 0);
        vm.save();
    }

    @AfterEach
    void close() {
        h.close();
    }

    private Path file(String name) {
        return folder.resolve(name);
    }

    /** Starts the VM, expecting a refusal; returns its message without the "cannot start" prefix. */
    private String refusal() {
        VmException e = assertThrows(VmException.class, () -> vm.start(TestVms.counting()));
        assertEquals(List.of(), h.parent().children(), "no partition is left held");
        String prefix = "cannot start 'vm': ";
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        return e.getMessage().substring(prefix.length());
    }

    private ObjectNode manifest() throws IOException {
        return (ObjectNode) JSON.readTree(file(SavedState.MANIFEST).toFile());
    }

    private void writeManifest(ObjectNode m) throws IOException {
        Files.write(file(SavedState.MANIFEST), JSON.writeValueAsBytes(m));
    }

    /** Replaces devices.vsv with {@code bytes} and makes the manifest vouch for them, so that their content is what is checked. */
    private void replaceDevices(byte[] bytes) throws IOException {
        Files.write(file(SavedState.DEVICES), bytes);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        ObjectNode m = manifest();
        m.put("devicesBytes", bytes.length);
        m.put("devicesCrc32c", crc.getValue());
        writeManifest(m);
    }

    /** A device state file: the magic (or {@code magic}), then each (name, state) pair as given, duplicates included. */
    private static byte[] devicesFile(String magic, Object... namesAndStates) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeBytes(magic);
            out.writeInt(namesAndStates.length / 2);
            for (int i = 0; i < namesAndStates.length; i += 2) {
                out.writeUTF((String) namesAndStates[i]);
                byte[] state = (byte[]) namesAndStates[i + 1];
                out.writeInt(state.length);
                out.write(state);
            }
        }
        return bytes.toByteArray();
    }

    private static byte[] longState(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (56 - 8 * i));
        }
        return b;
    }

    @Test
    void theUntouchedSavedStateRestoresTheDevice() throws Exception {
        vm.start(TestVms.counting());
        LongDevice d = (LongDevice) vm.worker().orElseThrow().devices().stream().filter(LongDevice.class::isInstance)
                .findFirst().orElseThrow();
        assertEquals(SAVED_VALUE, d.value);
        vm.turnOff();
    }

    @Test
    void aMissingManifestLeavesTheVmOff() throws Exception {
        Files.delete(file(SavedState.MANIFEST));
        assertEquals(file(SavedState.MANIFEST) + ": no such file", refusal());
        assertEquals(VmState.OFF, vm.state());
    }

    @Test
    void aManifestThatIsNotJsonIsRefused() throws Exception {
        Files.writeString(file(SavedState.MANIFEST), "{\"format\": 1, \"memoryBytes\": ");
        assertTrue(refusal().startsWith(file(SavedState.MANIFEST) + ": not valid JSON: "));
        assertEquals(VmState.SAVED, vm.state());
        Files.writeString(file(SavedState.MANIFEST), "");
        assertEquals(file(SavedState.MANIFEST) + ": not a saved-state manifest of format 1", refusal());
        Files.writeString(file(SavedState.MANIFEST), "[1, 2]");
        assertEquals(file(SavedState.MANIFEST) + ": not a saved-state manifest of format 1", refusal());
        assertEquals(VmState.SAVED, vm.state());
    }

    @Test
    void aManifestOfAnotherFormatOrWithoutAFieldIsRefused() throws Exception {
        ObjectNode good = manifest();
        writeManifest(good.deepCopy().put("format", 2));
        assertEquals(file(SavedState.MANIFEST) + ": not a saved-state manifest of format 1", refusal());
        ObjectNode noCrc = good.deepCopy();
        noCrc.remove("memoryCrc32c");
        writeManifest(noCrc);
        assertEquals(file(SavedState.MANIFEST) + ": memoryCrc32c: missing or not a whole number", refusal());
        writeManifest(good.deepCopy().put("devicesBytes", "12"));
        assertEquals(file(SavedState.MANIFEST) + ": devicesBytes: missing or not a whole number", refusal());
        writeManifest(good.deepCopy().put("devicesBytes", -1));
        assertEquals(file(SavedState.MANIFEST) + ": devicesBytes: missing or not a whole number", refusal());
        assertEquals(VmState.SAVED, vm.state());
    }

    @Test
    void aManifestForAnotherMemorySizeIsRefused() throws Exception {
        writeManifest(manifest().put("memoryBytes", 2 * TestVms.MEMORY));
        assertEquals(file(SavedState.MANIFEST) + ": memoryBytes: the saved state holds " + 2 * TestVms.MEMORY
                + " bytes of memory but the VM has " + TestVms.MEMORY, refusal());
        assertEquals(VmState.SAVED, vm.state());
    }

    @Test
    void aTruncatedOrMissingMemoryFileIsRefused() throws Exception {
        byte[] memory = Files.readAllBytes(file(SavedState.MEMORY));
        Files.write(file(SavedState.MEMORY), Arrays.copyOf(memory, memory.length / 2));
        assertEquals(file(SavedState.MEMORY) + ": holds " + memory.length / 2 + " bytes, not the " + memory.length
                + " bytes of the saved memory", refusal());
        assertEquals(VmState.SAVED, vm.state());
        Files.delete(file(SavedState.MEMORY));
        assertEquals(file(SavedState.MEMORY) + ": no such file; the saved state is incomplete", refusal());
        assertEquals(VmState.SAVED, vm.state());
    }

    @Test
    void aMissingOrAlteredDevicesFileIsRefused() throws Exception {
        byte[] devices = Files.readAllBytes(file(SavedState.DEVICES));
        devices[devices.length - 1] ^= 1;
        Files.write(file(SavedState.DEVICES), devices);
        assertEquals(file(SavedState.DEVICES) + ": its size or checksum does not match the manifest; the saved device"
                + " state is damaged", refusal());
        Files.delete(file(SavedState.DEVICES));
        assertEquals(file(SavedState.DEVICES) + ": no such file; the saved state is incomplete", refusal());
        assertEquals(VmState.SAVED, vm.state());
    }

    @Test
    void aDevicesFileWithBadMagicADuplicateOrTrailingBytesIsRefused() throws Exception {
        Path f = file(SavedState.DEVICES);
        replaceDevices(devicesFile("VHDKVSV2", "long", longState(1)));
        assertEquals(f + ": not a device state file (bad magic)", refusal());
        replaceDevices(devicesFile("VHDKVSV1", "long", longState(1), "long", longState(2)));
        assertEquals(f + ": device 'long' appears twice", refusal());
        byte[] trailing = devicesFile("VHDKVSV1", "long", longState(1));
        replaceDevices(Arrays.copyOf(trailing, trailing.length + 3));
        assertEquals(f + ": 3 bytes follow the last device", refusal());
        replaceDevices(Arrays.copyOf(trailing, trailing.length - 3));
        assertEquals(f + ": device 'long' claims 8 bytes; the file has 5 left", refusal());
        replaceDevices(Arrays.copyOf(trailing, 10));
        assertEquals(f + ": ends in the middle of a device's state", refusal());
        byte[] hugeCount = devicesFile("VHDKVSV1");
        hugeCount[11] = 0x7F;
        hugeCount[8] = 0x7F;
        replaceDevices(hugeCount);
        assertEquals(f + ": device count 2130706559 is out of range", refusal());
        assertEquals(VmState.SAVED, vm.state());
    }

    @Test
    void aDevicesFileThatDoesNotMatchTheVmsDevicesIsRefused() throws Exception {
        Path f = file(SavedState.DEVICES);
        replaceDevices(devicesFile("VHDKVSV1"));
        assertEquals(f + ": holds no state for device 'long'", refusal());
        replaceDevices(devicesFile("VHDKVSV1", "long", longState(1), "gone", new byte[0]));
        assertEquals(f + ": holds device 'gone', which the VM no longer has", refusal());
        assertEquals(VmState.SAVED, vm.state());
    }

    @Test
    void aDeviceStateThatEndsEarlyOrIsLeftPartlyUnreadIsRefused() throws Exception {
        Path f = file(SavedState.DEVICES);
        replaceDevices(devicesFile("VHDKVSV1", "long", new byte[5]));
        assertEquals(f + ": the state of device 'long' ends early; its 5 bytes are not all it needs", refusal());
        replaceDevices(devicesFile("VHDKVSV1", "long", new byte[12]));
        assertEquals(f + ": device 'long' left 4 of its 12 saved bytes unread", refusal());
        assertEquals(VmState.SAVED, vm.state());
        assertEquals(List.of(), h.parent().children());
    }

    @Test
    void restoringADamagedStoredStateIsRefusedAndLeavesTheVmOff() throws Exception {
        Path stored = Files.createDirectory(root.resolve("stored"));
        vm.copySavedStateTo(stored);
        Files.delete(stored.resolve(SavedState.DEVICES));
        VmException e = assertThrows(VmException.class,
                () -> vm.restoreState(vm.configuration(), Optional.of(stored)));
        assertEquals("cannot restore a stored state into 'vm': " + stored.resolve(SavedState.DEVICES)
                + ": no such file; the saved state is incomplete", e.getMessage());
        assertEquals(VmState.OFF, vm.state(), "its own saved state was discarded first");
    }
}
