package org.vhdkit.stack.protocol.vhostuser;

/**
 * The constants of the vhost-user protocol: request codes, header flags, the virtio feature bits a
 * vhost-user-scsi backend deals in, and protocol-feature bits. Thread-safety: constants only.
 */
public final class VhostUser {
    /** The protocol's name in messages. */
    public static final String PROTOCOL = "vhost-user";

    // ---- requests (front-end to back-end) ----
    public static final int GET_FEATURES = 1;
    public static final int SET_FEATURES = 2;
    public static final int SET_OWNER = 3;
    public static final int RESET_OWNER = 4;
    public static final int SET_MEM_TABLE = 5;
    public static final int SET_LOG_BASE = 6;
    public static final int SET_LOG_FD = 7;
    public static final int SET_VRING_NUM = 8;
    public static final int SET_VRING_ADDR = 9;
    public static final int SET_VRING_BASE = 10;
    public static final int GET_VRING_BASE = 11;
    public static final int SET_VRING_KICK = 12;
    public static final int SET_VRING_CALL = 13;
    public static final int SET_VRING_ERR = 14;
    public static final int GET_PROTOCOL_FEATURES = 15;
    public static final int SET_PROTOCOL_FEATURES = 16;
    public static final int GET_QUEUE_NUM = 17;
    public static final int SET_VRING_ENABLE = 18;
    public static final int SET_BACKEND_REQ_FD = 21;
    public static final int SET_VRING_ENDIAN = 23;
    public static final int GET_CONFIG = 24;
    public static final int SET_CONFIG = 25;
    public static final int GET_INFLIGHT_FD = 31;
    public static final int SET_INFLIGHT_FD = 32;
    public static final int RESET_DEVICE = 34;
    public static final int GET_MAX_MEM_SLOTS = 36;

    // ---- header flags ----
    /** The version in the two low bits of the flags: 1. */
    public static final int VERSION = 0x1;
    public static final int VERSION_MASK = 0x3;
    /** Set on a reply. */
    public static final int FLAG_REPLY = 0x4;
    /** The front-end asks for an acknowledgement (with REPLY_ACK negotiated). */
    public static final int FLAG_NEED_REPLY = 0x8;

    /** The largest payload this codec accepts; the biggest request (GET_CONFIG) carries 12 + 256. */
    public static final int MAX_PAYLOAD = 4096;
    /** File descriptors one message may carry (SET_MEM_TABLE's eight regions). */
    public static final int MAX_FDS = 8;

    // ---- virtio feature bits (GET/SET_FEATURES) ----
    public static final int F_NOTIFY_ON_EMPTY = 24;
    public static final int F_LOG_ALL = 26;
    public static final int F_RING_INDIRECT_DESC = 28;
    public static final int F_RING_EVENT_IDX = 29;
    /** VHOST_USER_F_PROTOCOL_FEATURES: GET/SET_PROTOCOL_FEATURES are available. */
    public static final int F_PROTOCOL_FEATURES = 30;
    public static final int F_VERSION_1 = 32;

    // ---- protocol feature bits ----
    public static final int PROTOCOL_F_MQ = 0;
    public static final int PROTOCOL_F_LOG_SHMFD = 1;
    public static final int PROTOCOL_F_REPLY_ACK = 3;
    public static final int PROTOCOL_F_CONFIG = 9;

    /** The u64 of SET_VRING_KICK/CALL/ERR: the ring index in bits 0 to 7. */
    public static final long VRING_INDEX_MASK = 0xFF;
    /** The u64 of SET_VRING_KICK/CALL/ERR: no descriptor comes with the message. */
    public static final long VRING_NOFD_MASK = 0x100;

    private VhostUser() {
    }

    /** The name of request {@code code} for messages, e.g. {@code SET_MEM_TABLE (5)}. Thread-safe. */
    public static String requestName(int code) {
        String name = switch (code) {
            case GET_FEATURES -> "GET_FEATURES";
            case SET_FEATURES -> "SET_FEATURES";
            case SET_OWNER -> "SET_OWNER";
            case RESET_OWNER -> "RESET_OWNER";
            case SET_MEM_TABLE -> "SET_MEM_TABLE";
            case SET_LOG_BASE -> "SET_LOG_BASE";
            case SET_LOG_FD -> "SET_LOG_FD";
            case SET_VRING_NUM -> "SET_VRING_NUM";
            case SET_VRING_ADDR -> "SET_VRING_ADDR";
            case SET_VRING_BASE -> "SET_VRING_BASE";
            case GET_VRING_BASE -> "GET_VRING_BASE";
            case SET_VRING_KICK -> "SET_VRING_KICK";
            case SET_VRING_CALL -> "SET_VRING_CALL";
            case SET_VRING_ERR -> "SET_VRING_ERR";
            case GET_PROTOCOL_FEATURES -> "GET_PROTOCOL_FEATURES";
            case SET_PROTOCOL_FEATURES -> "SET_PROTOCOL_FEATURES";
            case GET_QUEUE_NUM -> "GET_QUEUE_NUM";
            case SET_VRING_ENABLE -> "SET_VRING_ENABLE";
            case SET_BACKEND_REQ_FD -> "SET_BACKEND_REQ_FD";
            case SET_VRING_ENDIAN -> "SET_VRING_ENDIAN";
            case GET_CONFIG -> "GET_CONFIG";
            case SET_CONFIG -> "SET_CONFIG";
            case GET_INFLIGHT_FD -> "GET_INFLIGHT_FD";
            case SET_INFLIGHT_FD -> "SET_INFLIGHT_FD";
            case RESET_DEVICE -> "RESET_DEVICE";
            case GET_MAX_MEM_SLOTS -> "GET_MAX_MEM_SLOTS";
            default -> "request";
        };
        return name + " (" + Integer.toUnsignedString(code) + ")";
    }
}
