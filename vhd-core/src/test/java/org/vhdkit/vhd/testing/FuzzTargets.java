package org.vhdkit.vhd.testing;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Every fuzz target of one module behind a single {@code @FuzzTest}, so that the module's targets
 * are fuzzed in one JVM: Jazzer fuzzes one fuzz test per JVM, and a JVM per target (its start,
 * Jazzer's agent, the instrumentation of the classes) cost far more than the seconds of fuzzing a
 * CI run gives each (see RELIABILITY.md). Each module has an {@code EveryTargetFuzzTest} that
 * {@link #dispatch}es to the targets found beside it; the profile {@code fuzz} runs only those.
 *
 * <p>The first byte of an input picks the target (modulo their number, in class name order); the
 * rest is the target's own input, exactly: a {@code byte[]} target gets the remaining bytes, a
 * {@link FuzzedDataProvider} target the provider itself, which then reads what the target's own
 * input file would give it. So {@link #writeSeeds} turns every target's regression inputs (and the
 * corpus a longer run grew for it in {@code .cifuzz-corpus/}) into the dispatcher's seeds, its
 * index byte in front: the fuzzing starts from every target's inputs. (An input the dispatcher
 * finds failing is saved with that byte in front: drop it, and the input is the target's own.)
 *
 * <p>The targets themselves still run over their own regression inputs in every build.
 *
 * <p>Thread-safety: none; one fuzzing thread dispatches (as Jazzer calls a fuzz test).
 */
public final class FuzzTargets {
    private final List<Target> targets;
    /** Each target's instance, made when first dispatched to (its class's static set-up runs then). */
    private final Object[] instances;

    private record Target(Class<?> owner, Method method, boolean takesBytes) {
    }

    private FuzzTargets(List<Target> targets) {
        this.targets = targets;
        this.instances = new Object[targets.size()];
    }

    /**
     * The fuzz targets compiled beside {@code dispatcher} (classes named {@code *FuzzTest} in the same
     * test-classes folder with a {@code @FuzzTest} method), other than the dispatcher itself.
     */
    public static FuzzTargets of(Class<?> dispatcher) {
        try {
            Path root = Path.of(dispatcher.getProtectionDomain().getCodeSource().getLocation().toURI());
            List<String> names;
            try (Stream<Path> files = Files.walk(root)) {
                names = files.map(p -> root.relativize(p).toString())
                        .filter(n -> n.endsWith("FuzzTest.class") && !n.contains("$"))
                        .map(n -> n.substring(0, n.length() - ".class".length()).replace('/', '.'))
                        .filter(n -> !n.equals(dispatcher.getName()))
                        .sorted().toList();
            }
            List<Target> targets = new ArrayList<>();
            for (String name : names) {
                Class<?> owner = Class.forName(name, false, dispatcher.getClassLoader());
                for (Method m : owner.getDeclaredMethods()) {
                    if (m.isAnnotationPresent(FuzzTest.class)) {
                        m.setAccessible(true);
                        targets.add(new Target(owner, m, m.getParameterTypes()[0] == byte[].class));
                    }
                }
            }
            return new FuzzTargets(List.copyOf(targets));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ReflectiveOperationException | URISyntaxException e) {
            throw new IllegalStateException("cannot list the fuzz targets beside " + dispatcher.getName(), e);
        }
    }

    /** The targets' names, in the order of their index byte. */
    public List<String> names() {
        return targets.stream().map(t -> t.owner().getSimpleName()).toList();
    }

    /** Runs the target {@code data}'s first byte picks on the rest of it; what it throws is thrown. */
    public void dispatch(FuzzedDataProvider data) throws Throwable {
        byte[] first = data.consumeBytes(1);
        int i = first.length == 0 ? 0 : (first[0] & 0xFF) % targets.size();
        Target t = targets.get(i);
        if (instances[i] == null) {
            Constructor<?> c = t.owner().getDeclaredConstructor();
            c.setAccessible(true);
            instances[i] = c.newInstance();
        }
        try {
            t.method().invoke(instances[i], t.takesBytes() ? data.consumeRemainingAsBytes() : data);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /**
     * Writes, when Jazzer is fuzzing ({@code JAZZER_FUZZ} set), every target's inputs, each behind
     * its target's index byte, where Jazzer takes the dispatcher's from: the targets' regression
     * inputs into the regression inputs folder of {@code dispatcher}'s {@code method} in the build's
     * test classes (not the sources; Jazzer runs each as a test first), and the corpus a longer run
     * grew for each target ({@code .cifuzz-corpus/} of the module) into the dispatcher's corpus
     * there (which libFuzzer reads in bulk). Returns how many.
     */
    public int writeSeeds(Class<?> dispatcher, String method) throws IOException {
        if (System.getenv("JAZZER_FUZZ") == null) {
            return 0;
        }
        Path inputs = classFolder(dispatcher).resolve(dispatcher.getSimpleName() + "Inputs").resolve(method);
        Path corpus = Path.of(".cifuzz-corpus", dispatcher.getName(), method);
        int written = 0;
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            written += copy(classFolder(t.owner()).resolve(t.owner().getSimpleName() + "Inputs")
                    .resolve(t.method().getName()), inputs, i, t.owner().getSimpleName());
            written += copy(Path.of(".cifuzz-corpus", t.owner().getName(), t.method().getName()), corpus, i,
                    t.owner().getSimpleName());
        }
        return written;
    }

    /** Copies the files of {@code from} into {@code into}, each behind {@code index}. */
    private static int copy(Path from, Path into, int index, String prefix) throws IOException {
        if (!Files.isDirectory(from)) {
            return 0;
        }
        Files.createDirectories(into);
        int written = 0;
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                byte[] input = Files.readAllBytes(f);
                byte[] seed = new byte[input.length + 1];
                seed[0] = (byte) index;
                System.arraycopy(input, 0, seed, 1, input.length);
                Files.write(into.resolve(prefix + "-" + f.getFileName()), seed);
                written++;
            }
        }
        return written;
    }

    private static Path classFolder(Class<?> c) {
        URL here = c.getResource(c.getSimpleName() + ".class");
        try {
            return Path.of(here.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "FuzzTargets" + Arrays.toString(names().toArray());
    }
}
