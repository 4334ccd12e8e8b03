package org.vhdkit.stack.protocol.ic;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The integration-service message layout, modelled on Hyper-V's (Linux {@code hyperv.h}: the
 * {@code vmbuspipe_hdr}, {@code icmsg_hdr}, {@code icmsg_negotiate} and {@code shutdown_msg_data}).
 * Every message is one VMBus in-band packet; the parent sends requests, the guest answers each with
 * an in-band packet carrying the same header, its flags turned to a response and a status set. All
 * fields little-endian:
 *
 * <pre>
 * offset size  field
 *  0      4    pipe flags: 0
 *  4      4    pipe size: bytes after the pipe header (20 + payload size)
 *  8      2    framework version major (3)       } the "icverframe"
 * 10      2    framework version minor (0)       }
 * 12      2    message type: 0 negotiate, 3 shutdown
 * 14      2    message version major             } the "icvermsg"; in a negotiate message the
 * 16      2    message version minor             } framework's (3.0)
 * 18      2    payload size in bytes
 * 20      4    status: 0 S_OK (accepted), 0x80004005 E_FAIL (refused, or no common version)
 * 24      1    transaction id (the parent's counter, echoed by the answer)
 * 25      1    flags: 1 TRANSACTION | 2 REQUEST (parent) or 1 TRANSACTION | 4 RESPONSE (guest)
 * 26      2    reserved: 0
 * 28      ...  payload
 *
 * negotiate payload (the parent lists what it supports, best first; the guest answers with one each):
 * 28      2    framework version count
 * 30      2    message version count
 * 32      4    reserved: 0
 * 36      4*n  versions, each {u16 major, u16 minor}: the framework versions, then the message versions
 *
 * shutdown payload (the parent's request; the guest's answer carries none, or the same layout with
 * its reason for refusing in the message):
 * 28      4    reason code (0: the host asked)
 * 32      4    timeout in seconds the host waits for the answer and the power off
 * 36      4    flags: 1 force, 2 restart (the parent sends neither; a guest may ignore them)
 * 40   2048    message: UTF-8, NUL-padded
 * </pre>
 *
 * VMBus pads a packet to 8 bytes, so the pipe size, not the packet, says where a message ends.
 *
 * <p>The codecs are {@link IcHeader} (the pipe and message headers), {@link Negotiate} and
 * {@link ShutdownMessage}; this class is the constants' home. The field offsets are public for
 * tests that forge hostile messages field by field; the two ends read and write only through the
 * codecs.
 *
 * <p>Thread-safety: constants and static functions only.
 */
public final class IcMessage {
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final String PROTOCOL = "integration-service message";

    /** The pipe header's length. */
    public static final int PIPE_HEADER = 8;
    /** The pipe and message headers' length: where the payload starts. */
    public static final int HEADER = 28;

    public static final int PIPE_FLAGS = 0;
    public static final int PIPE_SIZE = 4;
    public static final int FRAME_MAJOR = 8;
    public static final int FRAME_MINOR = 10;
    public static final int TYPE = 12;
    public static final int MESSAGE_MAJOR = 14;
    public static final int MESSAGE_MINOR = 16;
    public static final int PAYLOAD_SIZE = 18;
    public static final int STATUS = 20;
    public static final int TRANSACTION = 24;
    public static final int FLAGS = 25;
    public static final int RESERVED = 26;

    public static final int TYPE_NEGOTIATE = 0;
    public static final int TYPE_SHUTDOWN = 3;

    public static final int FLAG_TRANSACTION = 1;
    public static final int FLAG_REQUEST = 2;
    public static final int FLAG_RESPONSE = 4;
    /** The flags of a request (the parent's). */
    public static final int REQUEST = FLAG_TRANSACTION | FLAG_REQUEST;
    /** The flags of an answer (the guest's). */
    public static final int RESPONSE = FLAG_TRANSACTION | FLAG_RESPONSE;

    public static final int S_OK = 0;
    public static final int E_FAIL = 0x80004005;

    /** A version as the wire holds it: major in the high 16 bits. */
    public static final int FRAMEWORK_3_0 = version(3, 0);
    public static final int SHUTDOWN_3_0 = version(3, 0);
    public static final int SHUTDOWN_1_0 = version(1, 0);
    /** The framework versions both sides support, best first. */
    public static final int[] FRAMEWORK_VERSIONS = {FRAMEWORK_3_0};
    /** The shutdown message versions both sides support, best first. */
    public static final int[] SHUTDOWN_VERSIONS = {SHUTDOWN_3_0, SHUTDOWN_1_0};

    public static final int NEGOTIATE_FRAME_COUNT = HEADER;
    public static final int NEGOTIATE_MESSAGE_COUNT = HEADER + 2;
    public static final int NEGOTIATE_VERSIONS = HEADER + 8;
    /** The most versions a negotiate message may list (each side). */
    public static final int MAX_VERSIONS = 16;

    public static final int SHUTDOWN_REASON = HEADER;
    public static final int SHUTDOWN_TIMEOUT = HEADER + 4;
    public static final int SHUTDOWN_FLAGS = HEADER + 8;
    public static final int SHUTDOWN_MESSAGE = HEADER + 12;
    public static final int MESSAGE_BYTES = 2048;
    public static final int SHUTDOWN_PAYLOAD = 12 + MESSAGE_BYTES;
    public static final int SHUTDOWN_FLAG_FORCE = 1;
    public static final int SHUTDOWN_FLAG_RESTART = 2;

    /** The longest message either side sends (a shutdown request), rounded up to 8. */
    public static final int MAX_MESSAGE = (HEADER + SHUTDOWN_PAYLOAD + 7) & ~7;

    private IcMessage() {
    }

    /** A version as the wire holds it, major in the high 16 bits. Thread-safe. */
    public static int version(int major, int minor) {
        return major << 16 | minor;
    }

    /** "3.0" for version 3.0. Thread-safe. */
    public static String describe(int version) {
        return (version >>> 16) + "." + (version & 0xFFFF);
    }
}
