package org.vhdkit.vhd.check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Collects what an {@link Inspection} finds, each with the fix that repairs it (decided when the
 * finding is made, or later, once the layout of the file is known).
 *
 * <p>A damaged table can yield one finding per entry, millions: past {@value #MAX_PER_CODE} findings
 * of one code, the rest are counted and summed up in one more finding of that code.
 *
 * <p>Not thread-safe: one inspection, one thread.
 */
final class Findings {
    /** The most findings of one code reported one by one. */
    static final int MAX_PER_CODE = 20;

    /** A finding, and what repairs it. */
    record Problem(Finding finding, Optional<Fix> fix) {
        Problem {
            Objects.requireNonNull(finding, "finding");
            Objects.requireNonNull(fix, "fix");
            if (fix.isPresent() != finding.repairable()) {
                throw new IllegalArgumentException(finding.code() + ": repairable " + finding.repairable()
                        + " but fix " + fix);
            }
        }
    }

    /** A finding being made: its fix, or why there is none, may be decided after it was added. */
    static final class Pending {
        private final Severity severity;
        private final String code;
        private final long offset;
        private final String message;
        private String action;
        private Fix fix;

        private Pending(Severity severity, String code, long offset, String message, String action) {
            this.severity = severity;
            this.code = code;
            this.offset = offset;
            this.message = message;
            this.action = action;
        }

        /** Repaired by {@code with}, which does what {@code whatItDoes} says. */
        Pending repairedBy(Fix with, String whatItDoes) {
            this.fix = Objects.requireNonNull(with, "with");
            this.action = Objects.requireNonNull(whatItDoes, "whatItDoes");
            return this;
        }

        /** Not repairable, because of {@code why} (or: what the user can do instead). */
        Pending notRepairable(String why) {
            this.fix = null;
            this.action = Objects.requireNonNull(why, "why");
            return this;
        }

        String code() {
            return code;
        }

        private Problem toProblem() {
            return new Problem(new Finding(severity, code, message, offset, fix != null, false, action),
                    Optional.ofNullable(fix));
        }
    }

    private final List<Pending> pending = new ArrayList<>();
    private final Map<String, Integer> counts = new LinkedHashMap<>();
    private final Map<String, Severity> severities = new LinkedHashMap<>();

    /**
     * Adds a finding, not repairable unless {@link Pending#repairedBy} is called. Past
     * {@value #MAX_PER_CODE} of its code, it is only counted (and the returned handle goes nowhere).
     */
    Pending add(Severity severity, String code, long offset, String message, String action) {
        Pending finding = new Pending(severity, code, offset, message, action);
        int count = counts.merge(code, 1, Integer::sum);
        severities.putIfAbsent(code, severity);
        if (count <= MAX_PER_CODE) {
            pending.add(finding);
        }
        return finding;
    }

    Pending corrupt(String code, long offset, String message, String action) {
        return add(Severity.CORRUPT, code, offset, message, action);
    }

    Pending leak(String code, long offset, String message, String action) {
        return add(Severity.LEAK, code, offset, message, action);
    }

    Pending warning(String code, long offset, String message, String action) {
        return add(Severity.WARNING, code, offset, message, action);
    }

    /** Whether a corrupt finding has been added. */
    boolean anyCorrupt() {
        return severities.containsValue(Severity.CORRUPT);
    }

    /** Whether a finding of {@code code} has been added. */
    boolean has(String code) {
        return counts.containsKey(code);
    }

    /** Everything found, in order, with one summary for each code past its limit. */
    List<Problem> problems() {
        List<Problem> problems = new ArrayList<>();
        for (Pending p : pending) {
            problems.add(p.toProblem());
        }
        counts.forEach((code, count) -> {
            if (count > MAX_PER_CODE) {
                problems.add(new Problem(new Finding(severities.get(code), code,
                        (count - MAX_PER_CODE) + " more findings of this kind, not listed one by one", -1, false,
                        false, "see the findings of this code above"), Optional.empty()));
            }
        });
        return problems;
    }
}
