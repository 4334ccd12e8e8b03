package org.vhdkit.stack.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vhdkit.stack.testvm.TestVms;

@Timeout(30)
class ShutdownTest {
    @TempDir
    Path root;

    @Test
    void aListeningGuestShutsDownWhenAskedAndTheVmTurnsOff() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            BlockingQueue<String> said = new ArrayBlockingQueue<>(2);
            CountDownLatch listening = new CountDownLatch(1);
            vm.start(g -> {
                GuestShutdown shutdown = g.service(GuestShutdown.class).orElseThrow();
                shutdown.listen();
                listening.countDown();
                g.await(shutdown.requests());
                g.memory().setLong(0, 0xDEAD); // tidy up
                said.add(shutdown.reason().orElseThrow());
                g.powerOff();
            });
            assertTrue(listening.await(5, TimeUnit.SECONDS));
            vm.shutDown(TestVms.WAIT);
            assertEquals(VmState.OFF, vm.state());
            assertEquals("the guest powered off", vm.lastStopReason().orElseThrow());
            assertEquals("the host asked for a shutdown", said.poll());
            assertEquals(java.util.List.of(), h.parent().children());
        }
    }

    @Test
    void aGuestThatDoesNotAnswerTimesOutAndCanStillBeTurnedOff() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            CountDownLatch listening = new CountDownLatch(1);
            vm.start(g -> {
                g.service(GuestShutdown.class).orElseThrow().listen();
                listening.countDown();
                while (true) {
                    g.safePoint(); // busy, never looks at its requests
                    Thread.sleep(1);
                }
            });
            assertTrue(listening.await(5, TimeUnit.SECONDS));
            VmException e = assertThrows(VmException.class, () -> vm.shutDown(Duration.ofMillis(100)));
            assertEquals("'vm' did not shut down within 100 ms; it is still Running (turn it off to stop it at once)",
                    e.getMessage());
            assertEquals(VmState.RUNNING, vm.state());
            vm.turnOff();
            assertEquals(VmState.OFF, vm.state());
        }
    }

    @Test
    void aGuestNotListeningOrWithoutIntegrationComponentsIsRefusedAtOnce() throws Exception {
        try (Hypervisor h = Hypervisor.open(root, TestVms.options())) {
            VirtualMachine deaf = h.create(TestVms.config("deaf"));
            VirtualMachine bare = h.create(TestVms.config("bare").withIntegrationComponents(false));
            BlockingQueue<Boolean> hasService = new ArrayBlockingQueue<>(1);
            deaf.start(g -> {
                while (true) {
                    g.safePoint();
                    Thread.sleep(1);
                }
            });
            bare.start(g -> {
                hasService.add(g.service(GuestShutdown.class).isPresent());
                while (true) {
                    g.safePoint();
                    Thread.sleep(1);
                }
            });
            assertEquals("cannot shut down 'deaf': its guest is not running the shutdown integration service; turn it"
                    + " off instead", assertThrows(VmException.class, () -> deaf.shutDown(TestVms.WAIT)).getMessage());
            assertEquals("cannot shut down 'bare': its integration components are off, so it has no shutdown service;"
                    + " turn it off instead", assertThrows(VmException.class, () -> bare.shutDown(TestVms.WAIT)).getMessage());
            assertEquals(false, hasService.poll(5, TimeUnit.SECONDS));
            assertEquals(VmState.RUNNING, deaf.state());
            assertEquals(VmState.RUNNING, bare.state());
        }
    }

    @Test
    void theIntegrationServiceCanBeReplacedByADeviceProvider() throws Exception {
        BlockingQueue<String> requests = new ArrayBlockingQueue<>(1);
        HypervisorOptions options = TestVms.options().withDeviceProvider(worker -> worker.setShutdownService(requests::add));
        try (Hypervisor h = Hypervisor.open(root, options)) {
            VirtualMachine vm = h.create(TestVms.config("vm"));
            vm.start(TestVms.counting());
            assertThrows(VmException.class, () -> vm.shutDown(Duration.ofMillis(50)));
            assertEquals("the host asked for a shutdown", requests.poll(5, TimeUnit.SECONDS));
            vm.turnOff();
        }
    }
}
