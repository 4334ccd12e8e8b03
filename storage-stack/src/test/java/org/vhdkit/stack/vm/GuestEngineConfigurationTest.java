package org.vhdkit.stack.vm;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A VM's engine in its configuration: the rules, and config.json with and without it. */
class GuestEngineConfigurationTest {
    private static final Path FILE = Path.of("/vms/x/config.json");

    private static VmConfiguration qemu(GuestEngine engine) {
        return VmConfiguration.create("vm", 64L << 20, 1).withEngine(engine);
    }

    private static String refusal(VmConfiguration c) {
        return assertThrows(VmConfigurationException.class, c::validate).getMessage();
    }

    @Test
    void aFileWithoutEngineIsRunByTheGuestProgramsAndIsWrittenBackUnchanged() throws Exception {
        VmConfiguration plain = VmConfiguration.create("vm", 64L << 20, 1);
        String json = new String(ConfigurationFile.encode(plain), UTF_8);
        assertFalse(json.contains("engine"), json);
        assertEquals(GuestEngine.PROGRAMS, ConfigurationFile.decode(FILE, json.getBytes(UTF_8)).engine());
    }

    @Test
    void aQemuEngineRoundTripsThroughTheFile() throws Exception {
        VmConfiguration c = qemu(GuestEngine.qemu().withAccel(GuestEngine.Accelerator.KVM)
                .withKernel(Path.of("/boot/vmlinuz")).withInitrd(Path.of("/boot/initrd")).withAppend("console=ttyS0"));
        assertEquals(c, ConfigurationFile.decode(FILE, ConfigurationFile.encode(c)));
    }

    @Test
    void engineRulesNameTheField() {
        assertEquals("engine.kernel: 'vmlinuz' is relative; give an absolute path",
                refusal(qemu(GuestEngine.qemu().withKernel(Path.of("vmlinuz")))));
        assertEquals("engine.initrd: an initrd needs a kernel to boot with it",
                refusal(qemu(GuestEngine.qemu().withInitrd(Path.of("/boot/initrd")))));
        assertEquals("engine.append: a kernel command line needs a kernel to boot",
                refusal(qemu(GuestEngine.qemu().withAppend("quiet"))));
        assertEquals("engine.append: a kernel command line cannot hold control characters",
                refusal(qemu(GuestEngine.qemu().withKernel(Path.of("/k")).withAppend("a\nb"))));
        assertEquals("engine: a kernel, an initrd, a kernel command line and an accelerator are for a real guest"
                + " (engine qemu), not for the in-JVM guest programs",
                refusal(qemu(GuestEngine.PROGRAMS.withKernel(Path.of("/k")))));
    }

    @Test
    void engineFieldsAreReadStrictly() {
        String base = new String(ConfigurationFile.encode(qemu(GuestEngine.qemu())), UTF_8);
        String unknown = base.replace("\"kind\" : \"qemu\"", "\"kind\" : \"qemu\", \"bios\" : \"x\"");
        assertEquals(FILE + ": engine.bios: unknown field", assertThrows(VmConfigurationException.class,
                () -> ConfigurationFile.decode(FILE, unknown.getBytes(UTF_8))).getMessage());
        String badAccel = base.replace("\"accel\" : \"auto\"", "\"accel\" : \"fast\"");
        assertEquals(FILE + ": engine.accel: 'fast' is not one of auto, kvm, tcg", assertThrows(
                VmConfigurationException.class, () -> ConfigurationFile.decode(FILE, badAccel.getBytes(UTF_8)))
                .getMessage());
    }
}
