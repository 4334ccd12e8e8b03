package org.vhdkit.cli.vm;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

/**
 * Where the CLI may use guest software, read from the compiled classes.
 *
 * <p>The rule: a class of vhd-cli's main code depends on {@code org.vhdkit.stack.guest..} only if
 * it is (or is nested in) a {@code vm} command, a top-level class named {@code Vm...Command}. Those
 * are where the CLI chooses the program a VM's guest runs: {@code vhd vm run} runs the built-in
 * workloads ({@code Workload}, {@code IdeWorkload}), {@code vhd vm start} an idle guest that
 * answers the shutdown integration service ({@code ShutdownGuest} on {@code GuestPages}). Picking a
 * guest program is the CLI acting for the user, not the hypervisor depending on its guests, so it
 * is allowed; the disk commands, the shared options and the output never touch guest code. (The
 * host side of the same boundary is storage-stack's {@code org.vhdkit.stack.GuestBoundaryTest}.)
 */
class GuestBoundaryTest {
    static final String GUEST = "org.vhdkit.stack.guest..";

    static final DescribedPredicate<JavaClass> VM_COMMAND = DescribedPredicate.describe(
            "a vm command (top-level class Vm...Command)", c -> topLevel(c).getSimpleName().matches("Vm\\w*Command"));

    static final ArchRule ONLY_VM_COMMANDS_PICK_GUEST_PROGRAMS = noClasses()
            .that().resideInAPackage("org.vhdkit.cli..")
            .and(DescribedPredicate.not(VM_COMMAND))
            .should().dependOnClassesThat().resideInAPackage(GUEST)
            .because("only the vm commands choose the program a VM's guest runs");

    /** The module's main classes: the directory (or jar) its main code was compiled into. */
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importUrl(VmRunCommand.class.getProtectionDomain().getCodeSource().getLocation());

    private static JavaClass topLevel(JavaClass c) {
        JavaClass top = c;
        while (top.getEnclosingClass().isPresent()) {
            top = top.getEnclosingClass().get();
        }
        return top;
    }

    @Test
    void onlyTheVmCommandsDependOnGuestSoftware() {
        ONLY_VM_COMMANDS_PICK_GUEST_PROGRAMS.check(MAIN);
    }

    @Test
    void theImportedClassesShowTheGuestProgramsVmRunPicks() {
        // The rule reads real dependencies: vhd vm run's command depends on the guest workload.
        JavaClass run = MAIN.get(VmRunCommand.class);
        assertTrue(run.getDirectDependenciesFromSelf().stream().map(Dependency::getTargetClass)
                .anyMatch(t -> t.getPackageName().startsWith("org.vhdkit.stack.guest.")));
    }
}
