package org.vhdkit.stack.vm;

import java.util.Optional;
import org.vhdkit.stack.partition.GuestSignal;

/**
 * The guest's side of the shutdown integration service, offered to the guest of every VM with
 * integration components on (with {@code IntegrationServices} among the providers, the VMBus service
 * asks through this one only when the guest has not opened its shutdown channel). A guest program
 * takes it from its context, says it listens, and watches for a request:
 *
 * <pre>{@code
 * GuestShutdown shutdown = guest.service(GuestShutdown.class).orElseThrow();
 * shutdown.listen();
 * while (true) {
 *     ... work ...
 *     if (guest.poll(shutdown.requests())) {   // or guest.await(shutdown.requests())
 *         ... flush, tidy up ...
 *         guest.powerOff();
 *     }
 * }
 * }</pre>
 *
 * <p>A request to a guest that does not listen is refused at once (as Hyper-V refuses when the
 * guest's integration service is not running), so the host does not wait for an answer that cannot
 * come.
 *
 * <p>Thread-safety: any thread may call any method; the state is in volatile fields and the signal.
 */
public final class GuestShutdown implements ShutdownService {
    private final String vm;
    private final GuestSignal requests;
    private volatile boolean listening;
    private volatile String reason;

    GuestShutdown(String vm, GuestSignal requests) {
        this.vm = vm;
        this.requests = requests;
    }

    /** Guest side: the guest's shutdown service is running and will answer requests. */
    public void listen() {
        listening = true;
    }

    /** Guest side: the signal raised when a shutdown is requested; wait on it or poll it. */
    public GuestSignal requests() {
        return requests;
    }

    /** Guest side: the reason given with the last request, if one came. */
    public Optional<String> reason() {
        return Optional.ofNullable(reason);
    }

    /** Parent side: raises the request if the guest listens; refuses otherwise. */
    @Override
    public void requestShutdown(String why) throws VmException {
        if (!listening) {
            throw new VmException("cannot shut down '" + vm + "': its guest is not running the shutdown"
                    + " integration service; turn it off instead");
        }
        reason = why;
        requests.raise();
    }
}
