import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.lang.constant.ClassDesc;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A build step of vhd-cli, run by the JDK's source launcher after the shade plugin has made
 * {@code target/vhd.jar}: rewrites, in place, every class file in the jar older than Java 6 (major
 * version 50) as a Java 8 class file (52) with stack maps, so that the JVM can keep it in the
 * ahead-of-time cache that {@code ./vhd} runs with.
 *
 * <p>Why: picocli 4.7 is compiled for Java 5 (49), the last version without stack maps. The JVM
 * leaves such "old" classes out of an AOT cache, and the classes that link against them too (every
 * command), and checks them with the old type-inferring verifier on every start
 * (BENCHMARKS.md, Start-up). The bytecode is kept as it is: only the version changes, and the stack
 * map frames the newer verifier needs are computed by the JDK's {@code java.lang.classfile} (which
 * resolves the types it merges from the jar itself and the JDK). Every rewritten class is verified
 * here, so a frame computed wrong fails the build rather than a command.
 *
 * <p>Usage: {@code java ClassFileUpgrade.java JAR}. Prints how many classes it rewrote.
 */
public final class ClassFileUpgrade {
    /** Java 6: the first class-file version with stack maps, and the oldest the AOT cache takes. */
    private static final int OLDEST_KEPT = ClassFile.JAVA_6_VERSION;
    private static final int TARGET = ClassFile.JAVA_8_VERSION;

    private ClassFileUpgrade() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java ClassFileUpgrade.java JAR");
            System.exit(64);
        }
        Path jar = Path.of(args[0]);
        int count = 0;
        // The zip file system rewrites only the entries written to; the others are copied as they are.
        try (FileSystem contents = FileSystems.newFileSystem(jar);
             Stream<Path> files = Files.walk(contents.getPath("/"))) {
            ClassFile classFiles = ClassFile.of(ClassFile.StackMapsOption.GENERATE_STACK_MAPS,
                    ClassFile.ClassHierarchyResolverOption.of(
                            ClassHierarchyResolver.defaultResolver().orElse(inJar(contents)).cached()));
            for (Path file : (Iterable<Path>) files.filter(ClassFileUpgrade::isClassFile)::iterator) {
                byte[] bytes = Files.readAllBytes(file);
                if (majorVersion(bytes) < OLDEST_KEPT) {
                    Files.write(file, upgrade(classFiles, file.toString(), bytes));
                    count++;
                }
            }
        }
        System.out.println("ClassFileUpgrade: " + count + " class files in " + jar.getFileName()
                + " rewritten as version " + TARGET + " with stack maps");
    }

    private static boolean isClassFile(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        return name.endsWith(".class") && !name.equals("module-info.class") && Files.isRegularFile(file);
    }

    private static int majorVersion(byte[] classFile) {
        return classFile.length < 8 ? Integer.MAX_VALUE : (classFile[6] & 0xff) << 8 | classFile[7] & 0xff;
    }

    /** {@code bytes} as a class file of version {@link #TARGET}: its methods rebuilt, so with stack maps. */
    private static byte[] upgrade(ClassFile classFiles, String name, byte[] bytes) {
        ClassModel model = classFiles.parse(bytes);
        byte[] upgraded = classFiles.transformClass(model,
                ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL)
                        .andThen((builder, element) -> {
                            if (element instanceof ClassFileVersion) {
                                builder.withVersion(TARGET, 0);
                            } else {
                                builder.with(element);
                            }
                        }));
        List<VerifyError> errors = classFiles.verify(upgraded);
        if (!errors.isEmpty()) {
            throw new IllegalStateException(name + " does not verify once upgraded: " + errors);
        }
        return upgraded;
    }

    /** Class hierarchy from the jar's own class files, for the types the JDK does not know. */
    private static ClassHierarchyResolver inJar(FileSystem jar) {
        return ClassHierarchyResolver.ofResourceParsing((ClassDesc type) -> {
            String descriptor = type.descriptorString();
            Path file = jar.getPath(descriptor.substring(1, descriptor.length() - 1) + ".class");
            try {
                return Files.exists(file) ? Files.newInputStream(file) : null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
