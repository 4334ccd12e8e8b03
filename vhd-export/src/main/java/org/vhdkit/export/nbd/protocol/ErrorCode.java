package org.vhdkit.export.nbd.protocol;

/** The error values of replies ({@code NBD_E...}): the only ones the protocol allows. */
public final class ErrorCode {
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    private ErrorCode() {
    }

    /** {@code EINVAL} for 22; the number for others; for logs. */
    public static String name(int error) {
        return switch (error) {
            case 0 -> "success";
            case EPERM -> "EPERM";
            case EIO -> "EIO";
            case ENOMEM -> "ENOMEM";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            case EOVERFLOW -> "EOVERFLOW";
            case ENOTSUP -> "ENOTSUP";
            case ESHUTDOWN -> "ESHUTDOWN";
            default -> "error " + error;
        };
    }
}
