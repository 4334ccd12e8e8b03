package org.vhdkit.stack;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

/**
 * The boundary between the hypervisor and the software that runs inside its guests, read from the
 * compiled classes (every dependency javac wrote into them: imports, calls, fields, signatures,
 * annotations).
 *
 * <p>The rule: no class of storage-stack's main code outside {@code org.vhdkit.stack.guest..}
 * depends on a class inside it. The host offers guests what they may use as contracts of its own
 * packages ({@code vmbus.GuestPort}, {@code ide.IdeInterrupts}, {@code vm.GuestShutdown}, the
 * partition's {@code GuestContext}); the guest tree may depend on those and on the protocol
 * constants, never the other way round. Tests are not held to it: a host package's tests drive the
 * host with the guest library, as a guest would.
 */
class GuestBoundaryTest {
    static final String GUEST = "org.vhdkit.stack.guest..";

    static final ArchRule HOST_NEVER_USES_GUEST = noClasses()
            .that().resideInAPackage("org.vhdkit.stack..")
            .and().resideOutsideOfPackage(GUEST)
            .should().dependOnClassesThat().resideInAPackage(GUEST)
            .because("the hypervisor never depends on software that runs inside its guests");

    /** The module's main classes: the directory (or jar) its main code was compiled into. */
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importUrl(org.vhdkit.stack.vmbus.VmbusServer.class.getProtectionDomain().getCodeSource().getLocation());

    @Test
    void noHostClassDependsOnTheGuestTree() {
        // Both sides are there to be checked: the importer read the main classes, not nothing.
        assertTrue(MAIN.contain("org.vhdkit.stack.vmbus.VmbusServer"), "host classes imported");
        assertTrue(MAIN.contain("org.vhdkit.stack.guest.vmbus.VmbusGuest"), "guest classes imported");
        HOST_NEVER_USES_GUEST.check(MAIN);
    }

    @Test
    void theRuleSeesAHostClassThatUsesTheGuestTree() throws ClassNotFoundException {
        // VmbusFixture, a test helper in the host's vmbus package, opens channels with the guest
        // library: the rule must report it, or it could not report a main class that did the same.
        JavaClasses fixture = new ClassFileImporter()
                .importClasses(Class.forName("org.vhdkit.stack.vmbus.VmbusFixture"));
        assertTrue(HOST_NEVER_USES_GUEST.evaluate(fixture).hasViolation());
    }
}
