package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * The server's answer to {@code NBD_OPT_EXPORT_NAME}: the export's size and transmission flags,
 * then 124 zero bytes unless the client said {@code NBD_FLAG_C_NO_ZEROES}: {@link #size()} bytes,
 * {@value #SHORT_SIZE} or {@value #LONG_SIZE}.
 */
public record ExportNameReply(long exportSize, int transmissionFlags, boolean noZeroes) {
    public static final int SHORT_SIZE = 10;
    public static final int ZEROES = 124;
    public static final int LONG_SIZE = SHORT_SIZE + ZEROES;

    /** How many bytes this reply takes on the wire. */
    public int size() {
        return noZeroes ? SHORT_SIZE : LONG_SIZE;
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        out.putLong(exportSize).putShort((short) transmissionFlags);
        if (!noZeroes) {
            out.put(new byte[ZEROES]);
        }
        WireString.checkWritten(out, start, size(), "export name reply");
    }

    public static ExportNameReply decode(ByteBuffer in, boolean noZeroes) throws NbdProtocolException {
        WireString.requireRemaining(in, noZeroes ? SHORT_SIZE : LONG_SIZE, "export name reply");
        ExportNameReply reply = new ExportNameReply(in.getLong(), Short.toUnsignedInt(in.getShort()), noZeroes);
        if (!noZeroes) {
            in.position(in.position() + ZEROES);
        }
        return reply;
    }
}
