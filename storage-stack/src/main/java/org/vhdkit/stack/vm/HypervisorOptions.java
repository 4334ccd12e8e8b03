package org.vhdkit.stack.vm;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How a {@link Hypervisor} runs its VMs.
 *
 * <ul>
 *   <li>{@code deviceProviders}: what makes each VM's devices when it starts, in order (none by
 *       default: a VM then has guest memory, processors and an empty port space).
 *   <li>{@code pauseTimeout}: how long pausing or saving waits for every processor to reach a safe
 *       point before it gives up and leaves the VM running (default 5 s).
 *   <li>{@code stopGrace}: how long turning off waits for each processor and the worker to end
 *       before it abandons them (default 2 s).
 *   <li>{@code deviceTimeout}: how long saving or restoring device state may take on the worker
 *       (default 30 s); for a real guest, how long its save may take.
 *   <li>{@code workerLauncher}: what starts the worker process of a VM with a real guest (none by
 *       default: such a VM is then refused a start).
 * </ul>
 *
 * <p>Immutable; safe to share between threads.
 */
public record HypervisorOptions(
        List<DeviceProvider> deviceProviders, Duration pauseTimeout, Duration stopGrace, Duration deviceTimeout,
        Optional<WorkerLauncher> workerLauncher) {

    public HypervisorOptions {
        Objects.requireNonNull(workerLauncher, "workerLauncher");
        deviceProviders = List.copyOf(deviceProviders);
        requirePositive(pauseTimeout, "pauseTimeout");
        requirePositive(stopGrace, "stopGrace");
        requirePositive(deviceTimeout, "deviceTimeout");
    }

    private static void requirePositive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, not " + d);
        }
    }

    /** No device providers and the default timeouts. */
    public static HypervisorOptions defaults() {
        return new HypervisorOptions(List.of(), Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(30),
                Optional.empty());
    }

    /** These options with {@code provider} added after the others. */
    public HypervisorOptions withDeviceProvider(DeviceProvider provider) {
        List<DeviceProvider> list = new ArrayList<>(deviceProviders);
        list.add(Objects.requireNonNull(provider, "provider"));
        return new HypervisorOptions(list, pauseTimeout, stopGrace, deviceTimeout, workerLauncher);
    }

    public HypervisorOptions withPauseTimeout(Duration timeout) {
        return new HypervisorOptions(deviceProviders, timeout, stopGrace, deviceTimeout, workerLauncher);
    }

    public HypervisorOptions withStopGrace(Duration grace) {
        return new HypervisorOptions(deviceProviders, pauseTimeout, grace, deviceTimeout, workerLauncher);
    }

    public HypervisorOptions withDeviceTimeout(Duration timeout) {
        return new HypervisorOptions(deviceProviders, pauseTimeout, stopGrace, timeout, workerLauncher);
    }

    /** These options with {@code launcher} starting the worker processes of real guests. */
    public HypervisorOptions withWorkerLauncher(WorkerLauncher launcher) {
        return new HypervisorOptions(deviceProviders, pauseTimeout, stopGrace, deviceTimeout,
                Optional.of(Objects.requireNonNull(launcher, "launcher")));
    }
}
