package org.vhdkit.stack.vm;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A VM configuration was refused: a field out of range, an attachment that breaks a
 * generation-1 rule, or a configuration file that cannot be read. Names the file (when the
 * configuration came from one) and the field: {@code <file>: <field>: <problem>}.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class VmConfigurationException extends VmException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String field;
    private final String problem;

    VmConfigurationException(String field, String problem) {
        this(null, field, problem, null);
    }

    VmConfigurationException(Path file, String field, String problem, Throwable cause) {
        super((file == null ? "" : file + ": ") + (field.isEmpty() ? "" : field + ": ") + problem, cause);
        this.file = file;
        this.field = field;
        this.problem = problem;
    }

    /** The same refusal, naming the file the configuration came from. */
    VmConfigurationException in(Path configFile) {
        return new VmConfigurationException(configFile, field, problem, getCause());
    }

    /** The configuration file, if the configuration came from one. */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** The field refused, as a JSON path ("memoryBytes", "attachments[2].slot"); empty for the whole file. */
    public String field() {
        return field;
    }

    /** What is wrong with it. */
    public String problem() {
        return problem;
    }
}
